package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"mime"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/handlers"
)

// orderPattern serves the order permalinks (commerce: <base_url>/orders/<tenant>/<context>/<id>,
// the tenant's base_url being this listener's URL by default).
const orderPattern = "GET /orders/{tenant}/{context}/{order}"

// serveOrder answers GET /orders/<tenant>/<context>/<order> with the order, as JSON (UCP's
// order resource, what get_order returns under a2a.ucp.order), or as a small HTML page
// when the client prefers text/html. An order lives in its context: the handler asks the
// worker for it with a get_order envelope on <prefix>.in.<tenant>.<context>, exactly as
// the bridge forwards one, so that the page is what the worker holds now (its payment
// captured, refunded, ...), and goes through the worker's ordering and tenancy.
//
// The bridge's rules apply to the tenant: its bearer token when it has tokens, a
// loopback caller otherwise; the Host and Origin guards; http.max_in_flight. Answers:
// 200 with the order; 404 for a path that names no order (bad tokens, an unknown tenant,
// not_found); 401; 503 with Retry-After when no reply came within bridge.timeout or the
// worker answered temporarily_unavailable; 502 for any other error reply. Errors are the
// JSON-RPC error object the bridge would answer.
//
// Each request is a new messageId (its idempotency record is kept like any other): a
// fixed one would be answered from the first request's record, an order as it was then.
func (b *bridge) serveOrder(w http.ResponseWriter, r *http.Request) {
	if !b.guards.checkCaller(w, r) {
		return
	}
	tenant, contextID, orderID := r.PathValue("tenant"), r.PathValue("context"), r.PathValue("order")
	if !b.authorized(tenant, r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cartwright"`)
		httpError(w, http.StatusUnauthorized, "a bearer token of this tenant is required")
		return
	}
	if !natsToken.MatchString(tenant) || !natsToken.MatchString(contextID) || !natsToken.MatchString(orderID) ||
		b.cfg.Tenants[tenant] == nil {
		orderError(w, http.StatusNotFound, commerce.E(commerce.KindNotFound, commerce.CodeNotFound,
			"no order at this address"))
		return
	}
	select {
	case b.inflight <- struct{}{}:
		defer func() { <-b.inflight }()
	default:
		busy(w, cap(b.inflight))
		return
	}

	var rnd [12]byte
	_, _ = rand.Read(rnd[:]) // never fails (crypto/rand)
	messageID := "order-page-" + hex.EncodeToString(rnd[:])
	body, err := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": messageID, "method": "message/send",
		"params": map[string]any{"message": map[string]any{
			"kind": "message", "role": "user", "messageId": messageID, "contextId": contextID,
			"parts": []any{map[string]any{"kind": "data", "data": map[string]any{"action": "get_order", "order_id": orderID}}},
		}},
	})
	if err != nil { // strings only
		panic("httpapi: encoding get_order: " + err.Error())
	}
	reply, why := b.ask(r, tenant, contextID, messageID, body)
	if reply == nil {
		if why == "" {
			return // the client went away
		}
		w.Header().Set("Retry-After", "1")
		orderError(w, http.StatusServiceUnavailable, commerce.E(commerce.KindTransient,
			commerce.CodeTemporarilyUnavailable, "%s; try again shortly", why))
		return
	}
	if reply.Header.Get(handlers.HdrStatus) == "error" {
		status := http.StatusBadGateway
		switch reply.Header.Get(handlers.HdrErrorCode) {
		case commerce.CodeNotFound:
			status = http.StatusNotFound
		case commerce.CodeTemporarilyUnavailable:
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, status, errorObject(reply.Data))
		return
	}
	var res struct {
		Result struct {
			Parts []struct {
				Data map[string]json.RawMessage `json:"data"`
			} `json:"parts"`
		} `json:"result"`
	}
	var order json.RawMessage
	if json.Unmarshal(reply.Data, &res) == nil {
		for _, p := range res.Result.Parts {
			if o := p.Data[envelopes.KeyOrder]; o != nil {
				order = o
			}
		}
	}
	if order == nil {
		b.log.Error("order page: the worker's get_order reply holds no order", "tenant", tenant, "message_id", messageID)
		orderError(w, http.StatusBadGateway, commerce.E(commerce.KindInternal, commerce.CodeInternalError,
			"the worker's reply holds no order"))
		return
	}
	if prefersHTML(r.Header.Get("Accept")) {
		var o envelopes.Order
		if err := json.Unmarshal(order, &o); err == nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if err := orderPage.Execute(w, &o); err != nil {
				b.log.Warn("order page", "err", err)
			}
			return
		}
	}
	writeJSON(w, http.StatusOK, order)
}

// ask publishes body to <prefix>.in.<tenant>.<context> with the bridge's inbox as its
// reply subject and waits bridge.timeout for the reply. A nil reply comes with why it
// did not come, or "" when the HTTP client went away.
func (b *bridge) ask(r *http.Request, tenant, contextID, messageID string, body []byte) (*nats.Msg, string) {
	token, ch, ok := b.await(tenant, messageID)
	if !ok {
		return nil, "the bridge is shutting down"
	}
	defer b.forget(token)
	ctx, cancel := context.WithTimeout(r.Context(), b.timeout)
	defer cancel()
	m := nats.NewMsg(b.cfg.Prefix + ".in." + tenant + "." + contextID)
	m.Data = body
	m.Header.Set(handlers.HdrReplyTo, b.inbox+token)
	if tp := r.Header.Get(handlers.HdrTraceParent); traceParent.MatchString(tp) {
		m.Header.Set(handlers.HdrTraceParent, tp)
	}
	if _, err := b.js.PublishMsg(ctx, m); err != nil {
		if r.Context().Err() != nil {
			return nil, ""
		}
		b.log.Warn("order page: publish failed", "subject", m.Subject, "err", err)
		return nil, "the message bus did not take the request"
	}
	select {
	case reply := <-ch:
		if reply == nil {
			return nil, "the bridge is shutting down"
		}
		return reply, ""
	case <-ctx.Done():
		if r.Context().Err() != nil {
			return nil, ""
		}
		return nil, "no reply within " + b.timeout.String()
	}
}

// errorObject is the JSON-RPC error object of a worker's error reply, or the reply itself
// when it holds none.
func errorObject(reply []byte) []byte {
	var res struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(reply, &res) == nil && res.Error != nil {
		return res.Error
	}
	return reply
}

func orderError(w http.ResponseWriter, status int, e *commerce.Error) {
	writeJSON(w, status, errorObject(envelopes.Wrap(nil, envelopes.ErrorBody(e, ""), true)))
}

// prefersHTML reports whether an Accept header asks for text/html before JSON: a browser
// following the link gets a page, anything else (no Accept, */*, application/json) JSON.
func prefersHTML(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			return true
		case "application/json", "*/*":
			return false
		}
	}
	return false
}

// orderPage is the page a browser gets. Amounts are the wire's: integer minor units.
var orderPage = template.Must(template.New("order").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Order {{.ID}}</title></head>
<body>
<h1>Order {{.ID}}</h1>
<p>Status: {{.Status}}. Payment: {{.Payment.Status}}.{{if .CreatedAt}} Placed {{.CreatedAt}}.{{end}}</p>
<table>
<tr><th>Item</th><th>Quantity</th></tr>
{{range .LineItems}}<tr><td>{{.Item.Title}} ({{.Item.ID}})</td><td>{{.Quantity}}</td></tr>
{{end}}</table>
<table>
{{range .Totals}}<tr><td>{{if .DisplayText}}{{.DisplayText}}{{else}}{{.Type}}{{end}}</td><td>{{.Amount}}</td></tr>
{{end}}</table>
<p>Amounts in minor units of {{.Currency}}.</p>
</body></html>
`))
