package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v4"

	"github.com/cartwright-dev/cartwright/commerce"
)

// The HTTP adapters (HTTPCatalog, HTTPInventory, HTTPShipping, HTTPTax, HTTPDiscounts,
// HTTPPayments) ask a merchant's own service over JSON-over-HTTP. docs/providers.md is
// the wire contract; this file is what every adapter shares: the request, the retries and
// the classification of failures.
//
// Every call is idempotent (lookups and quotes by nature, payment calls because they
// carry an Idempotency-Key), so every call is retried the same way:
//
//	attempt ──► 2xx, or a 4xx the adapter understands (404 unknown, 402 declined) ──► answer
//	   │    ──► 409 ───────────────────────────────────────► KindConflict  invalid_transition
//	   │    ──► 422 ───────────────────────────────────────► KindInvalid   invalid_params
//	   │    ──► any other 3xx/4xx, 501, a malformed body ──► KindInternal  internal_error
//	   └──► 408, 429, 5xx, timeout, connection error ──► wait (exponential, jittered) and
//	        try again, at most MaxAttempts tries ──► KindTransient temporarily_unavailable
//
// A transient error hands the envelope to the worker's own retry and dead-letter path;
// nothing is retried here past the small budget, so that one slow provider cannot hold a
// batch for long.

// Defaults of HTTPOptions.
const (
	DefaultHTTPTimeout     = 2 * time.Second
	DefaultHTTPMaxAttempts = 3
)

// Headers the HTTP adapters send beyond the standard ones.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	HeaderTenant         = "Cartwright-Tenant"
)

// maxResponseBytes bounds what is read of a provider's answer.
const maxResponseBytes = 1 << 20

// HTTPOptions configures an HTTP adapter.
type HTTPOptions struct {
	// BaseURL is where the merchant's service lives (http or https, no query); the
	// adapters append their paths to it ("https://api.example/v1" + "/items/sku_1").
	BaseURL string
	// Timeout bounds one attempt, from sending the request to reading the whole answer
	// (default DefaultHTTPTimeout).
	Timeout time.Duration
	// MaxAttempts is how often a call is tried before it fails as transient (default
	// DefaultHTTPMaxAttempts; 1 disables retries).
	MaxAttempts int
	// Token, when set, is sent as "Authorization: Bearer <Token>". It never appears in an
	// error.
	Token string
	// Header is added to every request (custom authentication, routing). It must not set
	// the headers the adapter sets itself (Content-Type, Idempotency-Key, ...).
	Header http.Header
	// Tenant is sent as the Cartwright-Tenant header, so that one service can serve
	// several tenants.
	Tenant string
	// Client makes the requests (default: a shared client that follows no redirects).
	Client *http.Client
	// InitialBackoff is the first wait between attempts (default 100 ms); it doubles
	// with ±50 % jitter, capped at 1 s.
	InitialBackoff time.Duration
}

// defaultClient is shared by every adapter without a Client of its own, so that they
// share connections. Redirects are not followed: a POST redirected to a GET would lose its
// body, and a provider that moved should be reconfigured, not chased.
var defaultClient = &http.Client{
	Transport: func() http.RoundTripper {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		return t
	}(),
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// httpCore is what every HTTP adapter does: build a request, try it within the budget,
// and classify what came back. Safe for concurrent use.
type httpCore struct {
	name     string // "catalog", "payments", ...: names the provider in errors
	base     string // without a trailing slash
	timeout  time.Duration
	attempts int
	initial  time.Duration
	header   http.Header // sent on every request, Authorization included
	client   *http.Client
	secrets  []string // the token and header values: redacted from whatever is shown
}

func newHTTPCore(name string, o HTTPOptions) (*httpCore, error) {
	u, err := url.Parse(o.BaseURL)
	switch {
	case err != nil:
		// Not the URL: it may hold a secret.
		return nil, fmt.Errorf("%s provider: base URL: %w", name, redactURL(err))
	case u.User != nil:
		return nil, fmt.Errorf("%s provider: base URL has credentials in it; pass a token instead", name)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("%s provider: base URL %q is not an absolute http(s) URL", name, o.BaseURL)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%s provider: base URL %q has a query or fragment", name, o.BaseURL)
	}
	c := &httpCore{
		name:     name,
		base:     strings.TrimRight(u.String(), "/"),
		timeout:  o.Timeout,
		attempts: o.MaxAttempts,
		initial:  o.InitialBackoff,
		header:   o.Header.Clone(),
		client:   o.Client,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultHTTPTimeout
	}
	if c.attempts <= 0 {
		c.attempts = DefaultHTTPMaxAttempts
	}
	if c.initial <= 0 {
		c.initial = 100 * time.Millisecond
	}
	if c.client == nil {
		c.client = defaultClient
	}
	if c.header == nil {
		c.header = http.Header{}
	}
	// Custom headers often authenticate (X-Api-Key): treat their values as secrets.
	for _, vs := range c.header {
		c.secrets = append(c.secrets, vs...)
	}
	c.header.Set("Accept", "application/json")
	c.header.Set("User-Agent", "cartwright")
	if o.Token != "" {
		c.header.Set("Authorization", "Bearer "+o.Token)
		c.secrets = append(c.secrets, o.Token)
	}
	if o.Tenant != "" {
		c.header.Set(HeaderTenant, o.Tenant)
	}
	return c, nil
}

// httpCall is one call to a provider.
type httpCall struct {
	method string
	path   string // relative to the base URL, escaped, starting with "/"
	route  string // the path's template ("/items/{id}"): what errors show
	key    string // Idempotency-Key, for payment calls
	body   any    // JSON-encoded when not nil
	// secrets the body carries (a payment token), never to be shown even if the
	// provider echoes them back
	secrets []string
}

func (c httpCall) String() string { return c.method + " " + c.route }

// httpReply is the final answer to a call: a status the caller is to interpret.
type httpReply struct {
	status int
	body   []byte
}

func (r httpReply) ok() bool { return r.status >= 200 && r.status < 300 }

// errRetryable marks an attempt's failure as worth another try.
type errRetryable struct{ why string }

func (e *errRetryable) Error() string { return e.why }

// do makes the call, retrying what may go away, and returns the first answer that is not
// retryable. Its error is an *commerce.Error: transient when the budget ran out or ctx
// ended, internal when the call could not even be made.
func (c *httpCore) do(ctx context.Context, call httpCall) (httpReply, error) {
	var payload []byte
	if call.body != nil {
		var err error
		if payload, err = json.Marshal(call.body); err != nil {
			return httpReply{}, c.internal(call, "encoding the request: %v", err)
		}
	}
	var reply httpReply
	tries := 0
	op := func() error {
		tries++
		r, err := c.attempt(ctx, call, payload)
		if err != nil {
			return err
		}
		reply = r
		return nil
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = c.initial
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	b.MaxInterval = time.Second
	b.MaxElapsedTime = 0 // bounded by the number of attempts instead
	err := backoff.Retry(op, backoff.WithContext(backoff.WithMaxRetries(b, uint64(c.attempts-1)), ctx))
	if err == nil {
		return reply, nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return httpReply{}, commerce.Transient(c.name+" provider", fmt.Errorf("%s: %w", call, cerr))
	}
	var retry *errRetryable
	if errors.As(err, &retry) {
		return httpReply{}, commerce.Transient(c.name+" provider",
			fmt.Errorf("%s: %s (%d attempts)", call, retry.why, tries))
	}
	return httpReply{}, err
}

// attempt makes one try. It returns an *errRetryable for what may go away, a permanent
// error for what will not, or the reply.
func (c *httpCore) attempt(ctx context.Context, call httpCall, payload []byte) (httpReply, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, call.method, c.base+call.path, body)
	if err != nil {
		return httpReply{}, backoff.Permanent(c.internal(call, "building the request: %v", redactURL(err)))
	}
	req.Header = c.header.Clone()
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if call.key != "" {
		req.Header.Set(HeaderIdempotencyKey, call.key)
	}
	span := c.trace(req, call)
	resp, err := c.client.Do(req)
	endCall(span, resp, err)
	if err != nil {
		if ctx.Err() != nil {
			return httpReply{}, backoff.Permanent(ctx.Err())
		}
		return httpReply{}, c.failed(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return httpReply{}, backoff.Permanent(ctx.Err())
		}
		return httpReply{}, c.failed(err)
	}
	if retryableStatus(resp.StatusCode) {
		return httpReply{}, &errRetryable{why: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	if len(data) > maxResponseBytes {
		return httpReply{}, backoff.Permanent(c.internal(call, "the answer is larger than %d bytes", maxResponseBytes))
	}
	return httpReply{status: resp.StatusCode, body: data}, nil
}

// failed describes a request that got no answer, without the URL (which may carry ids
// the operator does not want in a dead letter) and without any header.
func (c *httpCore) failed(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		if uerr.Timeout() {
			return &errRetryable{why: fmt.Sprintf("timed out after %s", c.timeout)}
		}
		err = uerr.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &errRetryable{why: fmt.Sprintf("timed out after %s", c.timeout)}
	}
	return &errRetryable{why: oneLine(err.Error(), 200)}
}

func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented, code == http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500 && code <= 599
}

// refused classifies a final answer the caller has no meaning for.
func (c *httpCore) refused(call httpCall, r httpReply) error {
	msg := c.redact(call, errorMessage(r.body))
	switch r.status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusProxyAuthRequired:
		// Whatever it says is about our credentials: not for a log line.
		return c.internal(call, "HTTP %d: the provider refused cartwright's credentials", r.status)
	case http.StatusConflict:
		if msg == "" {
			msg = "the step is not allowed in the payment's state"
		}
		return commerce.E(commerce.KindConflict, commerce.CodeInvalidTransition, "%s provider refused: %s", c.name, msg)
	case http.StatusUnprocessableEntity:
		if msg == "" {
			msg = "the request was refused as invalid"
		}
		return &commerce.Error{Kind: commerce.KindInvalid, Code: commerce.CodeInvalidParams,
			Message: fmt.Sprintf("%s provider refused: %s", c.name, msg)}
	}
	// Anything else means cartwright and the provider disagree about the contract, the
	// base URL or the credentials: nothing the agent can fix, so an internal error, which
	// dead-letters the envelope for an operator to redrive once it is fixed.
	if msg != "" {
		return c.internal(call, "HTTP %d: %s", r.status, msg)
	}
	return c.internal(call, "HTTP %d", r.status)
}

func (c *httpCore) internal(call httpCall, format string, args ...any) *commerce.Error {
	return commerce.E(commerce.KindInternal, commerce.CodeInternalError,
		"%s provider: %s: %s", c.name, call, fmt.Sprintf(format, args...))
}

// redact blanks out of s every secret the call or the provider holds, in case the
// provider echoes one back.
func (c *httpCore) redact(call httpCall, s string) string {
	for _, list := range [][]string{c.secrets, call.secrets} {
		for _, secret := range list {
			if len(secret) >= 4 {
				s = strings.ReplaceAll(s, secret, "[redacted]")
			}
		}
	}
	return s
}

// decode reads a 2xx answer into v.
func (c *httpCore) decode(call httpCall, r httpReply, v any) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return c.internal(call, "malformed answer: %v", oneLine(err.Error(), 200))
	}
	return nil
}

// errorMessage is the message of an error answer ({"error":{"message":"..."}}), made
// fit to show: one line, printable, at most 200 bytes. Empty when there is none.
func errorMessage(body []byte) string {
	var e wireError
	if json.Unmarshal(body, &e) != nil || e.Error == nil {
		return ""
	}
	return oneLine(e.Error.Message, 200)
}

// oneLine makes s fit a log line, a dead letter header or a buyer's message: printable,
// single-spaced, at most limit bytes (and an ellipsis).
func oneLine(s string, limit int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// redactURL drops the URL from a url.Error.
func redactURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }
