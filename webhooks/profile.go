package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxProfileBytes bounds a platform profile: a profile is a small document.
const maxProfileBytes = 64 << 10

// errNoWebhook: the platform's profile names no order webhook_url. Nothing is sent, and
// this is not a failure: the platform did not ask for order events.
var errNoWebhook = errors.New("the platform's profile names no order webhook_url")

// policy says which URLs cartwright fetches and POSTs to (webhooks.allow_hosts). It is
// checked twice: on the URL's host, and on the address the dialer connects to, so that
// a name that resolves somewhere else (DNS rebinding) does not get through.
type policy struct {
	hosts map[string]bool // exact, lower case
	any   bool            // "*": any host with public addresses
}

func newPolicy(allow []string) policy {
	p := policy{hosts: map[string]bool{}}
	for _, h := range allow {
		if h == "*" {
			p.any = true
			continue
		}
		p.hosts[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	return p
}

func (p policy) loopbackOnly() bool { return !p.any && len(p.hosts) == 0 }

// check refuses a URL that is not http(s), carries credentials, or names a host the
// policy does not allow.
func (p policy) check(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q: only http and https", u.Scheme)
	}
	if u.User != nil || u.Host == "" {
		return nil, errors.New("a URL with credentials or without a host")
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case p.loopbackOnly():
		if host != "localhost" && !isLoopback(host) {
			return nil, fmt.Errorf("host %q is not loopback (webhooks.allow_hosts is empty)", host)
		}
	case p.hosts[host]:
	case p.any:
		if ip := net.ParseIP(host); ip != nil && !public(ip) {
			return nil, fmt.Errorf("host %q is not a public address", host)
		}
	default:
		return nil, fmt.Errorf("host %q is not in webhooks.allow_hosts", host)
	}
	return u, nil
}

// dialControl checks the address a connection is about to be made to: loopback only
// under the default policy; public only when the host came in through "*".
func (p policy) dialControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("webhooks: dial %s: not an IP", address)
	}
	switch {
	case p.loopbackOnly() && !ip.IsLoopback():
		return fmt.Errorf("webhooks: dial %s: not loopback", address)
	case p.any && len(p.hosts) == 0 && !public(ip):
		return fmt.Errorf("webhooks: dial %s: not a public address", address)
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func public(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast())
}

// newClient is the HTTP client of profile fetches and deliveries: bounded in time,
// dialing only what the policy allows, following no redirect (a redirect could lead
// anywhere the policy refuses).
func newClient(p policy, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: p.dialControl}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.DialContext
	tr.Proxy = nil
	tr.MaxIdleConnsPerHost = 4
	return &http.Client{
		Timeout:       timeout,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// profiles fetches platform profiles and keeps what cartwright reads of each (its order
// webhook_url, its version, its signing_keys) for a while.
type profiles struct {
	client *http.Client
	policy policy
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	webhook string
	hookErr error // why there is no webhook (errNoWebhook, or a URL the policy refuses)
	version string
	keys    []jwk // the profile's signing_keys
	keysErr error // a malformed signing_keys
	err     error // the fetch failed
	at      time.Time
}

// webhookURL is the order webhook_url of the profile at profileURL, and the UCP version
// the profile speaks (its ucp.version), fetched at most once per ttl (a failure is cached
// for a tenth of it, so a broken profile is not hammered).
func (p *profiles) webhookURL(ctx context.Context, profileURL string) (string, string, error) {
	c := p.get(ctx, profileURL)
	if c.err != nil {
		return "", "", c.err
	}
	return c.webhook, c.version, c.hookErr
}

// get is the profile at profileURL, from the cache when it is fresh enough.
func (p *profiles) get(ctx context.Context, profileURL string) cached {
	now := p.now()
	p.mu.Lock()
	c, ok := p.cache[profileURL]
	p.mu.Unlock()
	if ok {
		ttl := p.ttl
		if c.err != nil || (c.hookErr != nil && !errors.Is(c.hookErr, errNoWebhook)) {
			ttl /= 10
		}
		if now.Sub(c.at) < ttl {
			return c
		}
	}
	c = p.fetch(ctx, profileURL)
	c.at = now
	p.mu.Lock()
	if len(p.cache) > 10000 {
		clear(p.cache) // a bound, not an eviction policy: profiles are few
	}
	p.cache[profileURL] = c
	p.mu.Unlock()
	return c
}

// errProfileURL: the profile URL is one the policy refuses (UCP's invalid_profile_url).
var errProfileURL = errors.New("profile URL")

// errProfileFetch: the profile could not be fetched (UCP's profile_unreachable).
var errProfileFetch = errors.New("fetch profile")

func (p *profiles) fetch(ctx context.Context, profileURL string) cached {
	u, err := p.policy.check(profileURL)
	if err != nil {
		return cached{err: fmt.Errorf("%w: %w", errProfileURL, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return cached{err: err}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return cached{err: fmt.Errorf("%w: %w", errProfileFetch, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return cached{err: fmt.Errorf("%w: status %d", errProfileFetch, resp.StatusCode)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProfileBytes+1))
	if err != nil {
		return cached{err: fmt.Errorf("%w: %w", errProfileFetch, err)}
	}
	if len(body) > maxProfileBytes {
		return cached{err: fmt.Errorf("profile is over %d bytes", maxProfileBytes)}
	}
	c := cached{version: profileVersion(body)}
	c.keys, c.keysErr = parseSigningKeys(body)
	c.webhook, c.hookErr = parseWebhookURL(body)
	if c.hookErr == nil {
		if _, err := p.policy.check(c.webhook); err != nil {
			c.webhook, c.hookErr = "", fmt.Errorf("webhook_url: %w", err)
		}
	}
	return c
}

// profileVersion is a platform profile's ucp.version ("" when it has none).
func profileVersion(body []byte) string {
	var doc struct {
		UCP struct {
			Version string `json:"version"`
		} `json:"ucp"`
	}
	_ = json.Unmarshal(body, &doc)
	return doc.UCP.Version
}

// orderCapability is the name of UCP's order capability.
const orderCapability = "dev.ucp.shopping.order"

// parseWebhookURL finds the order capability's config.webhook_url in a platform profile,
// in either shape UCP has used for capabilities: an object keyed by name, each a list of
// entries (2026-04-08), or a list of entries with a name (2026-01-11).
func parseWebhookURL(body []byte) (string, error) {
	var doc struct {
		UCP struct {
			Capabilities json.RawMessage `json:"capabilities"`
		} `json:"ucp"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("profile: %w", err)
	}
	type entry struct {
		Name   string `json:"name"`
		Config struct {
			WebhookURL string `json:"webhook_url"`
		} `json:"config"`
	}
	var byName map[string][]entry
	if json.Unmarshal(doc.UCP.Capabilities, &byName) == nil {
		for _, e := range byName[orderCapability] {
			if e.Config.WebhookURL != "" {
				return e.Config.WebhookURL, nil
			}
		}
		return "", errNoWebhook
	}
	var list []entry
	if json.Unmarshal(doc.UCP.Capabilities, &list) == nil {
		for _, e := range list {
			if e.Name == orderCapability && e.Config.WebhookURL != "" {
				return e.Config.WebhookURL, nil
			}
		}
	}
	return "", errNoWebhook
}
