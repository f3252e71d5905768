package httpapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
)

// UCP 2026-01-11 over REST: its bodies to and from the 2026-04-08 ones the worker speaks.
// What differs (docs/contract.md, "UCP 2026-01-11 over REST"):
//
//   - ucp.version is 2026-01-11, and so is each capability's version in ucp.capabilities.
//   - A checkout carries payment {handlers, instruments?, selected_instrument_id?}: the
//     business's payment handlers, which 2026-04-08 moved to the profile. A request's
//     payment, and its id (the session's id is the business's), are not the checkout's:
//     they are dropped on the way in.
//   - Totals are unsigned: the discount line is its amount, not its negation.
//   - Complete sends {payment_data: <instrument>, risk_signals, ap2?} instead of
//     {payment: {instruments: [...]}, ap2?}.
//   - An order's line item quantity is {total, fulfilled}, with a status; its fulfillment
//     is {expectations, events}.
//   - Message severities are recoverable, requires_buyer_input or requires_buyer_review.

// request20260111 converts a 2026-01-11 request body of op to the 2026-04-08 one.
func request20260111(op string, body json.RawMessage) (json.RawMessage, string, string) {
	switch op {
	case opCreate, opUpdate:
		var in map[string]json.RawMessage
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, "the body must be a JSON object", "$"
		}
		delete(in, "id")
		delete(in, "payment")
		out, _ := json.Marshal(in)
		return out, "", ""
	case opComplete:
		var in map[string]json.RawMessage
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, "the body must be a JSON object", "$"
		}
		pd := in["payment_data"]
		if firstNonSpace(pd) != '{' {
			return nil, "payment_data is required: the payment instrument", "$.payment_data"
		}
		var instr map[string]json.RawMessage
		if err := json.Unmarshal(pd, &instr); err != nil {
			return nil, "payment_data must be an object", "$.payment_data"
		}
		instr["selected"] = json.RawMessage("true")
		out := map[string]any{"payment": map[string]any{"instruments": []any{instr}}}
		if ap2, ok := in["ap2"]; ok && string(ap2) != "null" {
			out["ap2"] = ap2
		}
		b, _ := json.Marshal(out)
		return b, "", ""
	}
	return body, "", ""
}

// response20260111 converts a 2026-04-08 checkout or order (a response body that is not
// an error) to its 2026-01-11 shape, for tenant t. The conversion is a function of the
// bytes, so that a replayed reply gives the same response, byte for byte.
func response20260111(b *ucpBinding, t *config.Tenant, op string, status int, body []byte) (int, []byte) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return status, body
	}
	if op == opCreate || op == opUpdate {
		if code, detail := refusedLine(doc); code != "" {
			return http.StatusBadRequest, b.errorBody(code, detail, "$.line_items")
		}
	}
	if u, ok := doc["ucp"].(map[string]any); ok {
		u["version"] = UCPVersion20260111
		if caps, ok := u["capabilities"].([]any); ok {
			for _, c := range caps {
				if m, ok := c.(map[string]any); ok {
					m["version"] = UCPVersion20260111
				}
			}
		}
	}
	unsign(doc)
	if ms, ok := doc["messages"].([]any); ok {
		for _, m := range ms {
			if mm, ok := m.(map[string]any); ok && mm["severity"] == "unrecoverable" {
				mm["severity"] = "requires_buyer_review"
			}
		}
	}
	if _, isOrder := doc["checkout_id"]; isOrder {
		order20260111(doc)
	} else {
		// A shipping method with no destination yet has none: 2026-01-11 omits the
		// member, where 2026-04-08 lists [].
		methods, _ := at(doc, "fulfillment", "methods").([]any)
		for _, m := range methods {
			if mm, ok := m.(map[string]any); ok {
				if ds, ok := mm["destinations"].([]any); ok && len(ds) == 0 {
					delete(mm, "destinations")
				}
			}
		}
		pay, _ := doc["payment"].(map[string]any)
		if pay == nil {
			pay = map[string]any{}
		}
		pay["handlers"] = handlers20260111(t)
		if _, ok := pay["instruments"]; !ok {
			pay["instruments"] = []any{}
		}
		doc["payment"] = pay
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return status, body
	}
	return status, out
}

// refusedLine reports a line item the business could not take (an unknown item, or one
// out of stock) among a checkout's messages, with a detail that says which. 2026-01-11
// answers such a create or update with 400, where 2026-04-08 returns the checkout with
// the message: the session is opened or updated all the same (the worker applied the
// call), without that line.
func refusedLine(doc map[string]any) (string, string) {
	ms, _ := doc["messages"].([]any)
	for _, m := range ms {
		mm, _ := m.(map[string]any)
		if mm == nil || mm["type"] != "error" {
			continue
		}
		content, _ := mm["content"].(string)
		switch mm["code"] {
		case commerce.MsgOutOfStock:
			return commerce.MsgOutOfStock, "Insufficient stock: " + content
		case commerce.MsgItemUnavailable:
			return commerce.MsgItemUnavailable, "Item not found in the catalog: " + content
		}
	}
	return "", ""
}

// unsign makes every amount in a totals list non-negative, wherever it is.
func unsign(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "totals" {
				if ts, ok := e.([]any); ok {
					for _, t := range ts {
						if tm, ok := t.(map[string]any); ok {
							if n, ok := tm["amount"].(json.Number); ok && len(n) > 0 && n[0] == '-' {
								tm["amount"] = n[1:]
							}
						}
					}
				}
			}
			unsign(e)
		}
	case []any:
		for _, e := range x {
			unsign(e)
		}
	}
}

// order20260111 reshapes an order: quantities {total, fulfilled} with a status per line
// (fulfilled counts what the shipped events list), and the fulfillment as expectations
// (one per shipping method, to its selected destination) and the order's events.
func order20260111(doc map[string]any) {
	events, _ := at(doc, "fulfillment", "events").([]any)
	if events == nil {
		events = []any{}
	}
	shipped := map[any]int64{}
	for _, e := range events {
		if at(e, "type") != "shipped" {
			continue
		}
		lines, _ := at(e, "line_items").([]any)
		for _, l := range lines {
			if n, ok := at(l, "quantity").(json.Number); ok {
				q, _ := n.Int64()
				shipped[at(l, "id")] += q
			}
		}
	}
	if lines, ok := doc["line_items"].([]any); ok {
		for _, l := range lines {
			lm, ok := l.(map[string]any)
			if !ok {
				continue
			}
			total, _ := lm["quantity"].(json.Number)
			n, _ := total.Int64()
			done := min(shipped[lm["id"]], n)
			lm["quantity"] = map[string]any{"total": lm["quantity"], "fulfilled": done}
			switch {
			case done == 0:
				lm["status"] = "processing"
			case done < n:
				lm["status"] = "partial"
			default:
				lm["status"] = "fulfilled"
			}
		}
	}
	expectations := []any{}
	if f, ok := doc["fulfillment"].(map[string]any); ok {
		methods, _ := f["methods"].([]any)
		for _, m := range methods {
			mm, ok := m.(map[string]any)
			if !ok {
				continue
			}
			var dest any
			dests, _ := mm["destinations"].([]any)
			for _, d := range dests {
				if dm, ok := d.(map[string]any); ok && dm["id"] == mm["selected_destination_id"] {
					dest = dm
				}
			}
			if dest == nil {
				continue
			}
			var lines []any
			ids, _ := mm["line_item_ids"].([]any)
			for _, id := range ids {
				lines = append(lines, map[string]any{"id": id, "quantity": quantityOf(doc, id)})
			}
			e := map[string]any{"id": mm["id"], "line_items": lines, "method_type": mm["type"], "destination": dest}
			if groups, ok := mm["groups"].([]any); ok {
				for _, g := range groups {
					gm, _ := g.(map[string]any)
					opts, _ := gm["options"].([]any)
					for _, o := range opts {
						if om, ok := o.(map[string]any); ok && om["id"] == gm["selected_option_id"] {
							e["description"] = om["title"]
						}
					}
				}
			}
			expectations = append(expectations, e)
		}
	}
	doc["fulfillment"] = map[string]any{"expectations": expectations, "events": events}
}

// at walks a decoded JSON document by member names.
func at(v any, names ...string) any {
	for _, n := range names {
		m, _ := v.(map[string]any)
		v = m[n]
	}
	return v
}

// quantityOf is the quantity ordered of line item id (after order20260111's reshaping).
func quantityOf(doc map[string]any, id any) any {
	lines, _ := doc["line_items"].([]any)
	for _, l := range lines {
		if lm, ok := l.(map[string]any); ok && lm["id"] == id {
			if q, ok := lm["quantity"].(map[string]any); ok {
				return q["total"]
			}
			return lm["quantity"]
		}
	}
	return 1
}

// PaymentHandler20260111 is a payment handler as UCP 2026-01-11 describes it, in a
// profile's payment.handlers and a checkout's payment.handlers.
type PaymentHandler20260111 struct {
	ID                string         `json:"id"`
	Name              string         `json:"name"`
	Version           string         `json:"version"`
	Spec              string         `json:"spec"`
	ConfigSchema      string         `json:"config_schema"`
	InstrumentSchemas []string       `json:"instrument_schemas"`
	Config            map[string]any `json:"config"`
}

// cardInstrument20260111 is the schema of UCP 2026-01-11's card payment instrument: the
// instrument_schemas of a handler that names none.
const cardInstrument20260111 = "https://ucp.dev/" + UCPVersion20260111 + "/schemas/shopping/types/card_payment_instrument.json"

// handlers20260111 are tenant t's payment handlers in the 2026-01-11 form: the same
// handlers its 2026-04-08 profile lists, its payment_handlers in the order configured
// with the descriptors 2026-01-11 requires defaulted.
func handlers20260111(t *config.Tenant) []PaymentHandler20260111 {
	out := []PaymentHandler20260111{}
	if t == nil {
		return out
	}
	if len(t.PaymentHandlers) > 0 {
		for _, h := range t.PaymentHandlers {
			v := h.Version
			if v == "" {
				v = UCPVersion20260111
			}
			ph := PaymentHandler20260111{
				ID: h.ID, Name: h.HandlerName(), Version: v, Spec: h.Spec,
				ConfigSchema: h.ConfigSchema, InstrumentSchemas: h.InstrumentSchemas, Config: h.Config,
			}
			if ph.Spec == "" {
				ph.Spec = DocsURL + handlerSpecAnchor(h)
			}
			if ph.ConfigSchema == "" {
				ph.ConfigSchema = ph.Spec
			}
			if len(ph.InstrumentSchemas) == 0 {
				ph.InstrumentSchemas = []string{cardInstrument20260111}
			}
			if ph.Config == nil {
				ph.Config = testTokens(h)
			}
			if ph.Config == nil {
				ph.Config = map[string]any{}
			}
			out = append(out, ph)
		}
		return out
	}
	hs := paymentHandlers(t)
	for _, name := range slices.Sorted(maps.Keys(hs)) {
		for _, h := range hs[name] {
			cfg := h.Config
			if cfg == nil {
				cfg = map[string]any{}
			}
			out = append(out, PaymentHandler20260111{
				ID: h.ID, Name: name, Version: UCPVersion20260111, Spec: h.Spec,
				ConfigSchema:      DocsURL + "#the-mock-payment-handler",
				InstrumentSchemas: []string{cardInstrument20260111},
				Config:            cfg,
			})
		}
	}
	return out
}

// Profile20260111 is a UCP 2026-01-11 business profile: services keyed by name with one
// object each (its transports as members), capabilities as an array, and the payment
// handlers under payment.
type Profile20260111 struct {
	UCP     ProfileUCP20260111 `json:"ucp"`
	Payment struct {
		Handlers []PaymentHandler20260111 `json:"handlers"`
	} `json:"payment"`
}

// ProfileUCP20260111 is the ucp object of a 2026-01-11 profile.
type ProfileUCP20260111 struct {
	Version      string                     `json:"version"`
	Services     map[string]Service20260111 `json:"services"`
	Capabilities []Capability20260111       `json:"capabilities"`
}

// Service20260111 is a service of a 2026-01-11 profile, with its REST binding.
type Service20260111 struct {
	Version string `json:"version"`
	Spec    string `json:"spec"`
	REST    struct {
		Schema   string `json:"schema"`
		Endpoint string `json:"endpoint"`
	} `json:"rest"`
}

// Capability20260111 is a capability of a 2026-01-11 profile.
type Capability20260111 struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Spec    string `json:"spec"`
	Schema  string `json:"schema"`
	Extends string `json:"extends,omitempty"`
	Config  any    `json:"config,omitempty"`
}

// Profile20260111For returns tenant's UCP 2026-01-11 business profile: its REST endpoint
// under the 2026-01-11 base URL, the capabilities of its 2026-04-08 profile and its
// payment handlers.
func Profile20260111For(cfg *config.Config, tenant string, site Site) (*Profile20260111, error) {
	t, err := lookup(cfg, tenant)
	if err != nil {
		return nil, err
	}
	v := UCPVersion20260111
	p := &Profile20260111{UCP: ProfileUCP20260111{Version: v, Services: map[string]Service20260111{}}}
	svc := Service20260111{Version: v, Spec: "https://ucp.dev/specification/overview"}
	svc.REST.Schema = "https://ucp.dev/" + v + "/services/shopping/rest.openapi.json"
	svc.REST.Endpoint = site.BaseURL + RESTPathFor(v, tenant)
	p.UCP.Services[ServiceShopping] = svc
	caps := tenantCapabilities(t)
	for _, name := range slices.Sorted(maps.Keys(caps)) {
		for _, c := range caps[name] {
			doc := name[len("dev.ucp.shopping."):]
			p.UCP.Capabilities = append(p.UCP.Capabilities, Capability20260111{
				Name: name, Version: v,
				Spec:    "https://ucp.dev/specification/" + doc,
				Schema:  "https://ucp.dev/" + v + "/schemas/shopping/" + doc + ".json",
				Extends: c.Extends, Config: c.Config,
			})
		}
	}
	p.Payment.Handlers = handlers20260111(t)
	return p, nil
}

// OrderForVersion converts an order as the REST binding shows it in 2026-04-08 (its REST
// ids set) to the shape of UCP version v: Order20260111 for 2026-01-11, as it is for any
// other. The order webhooks send a platform its orders so (webhooks.Options.OrderFor).
func OrderForVersion(v string, order []byte) []byte {
	if v == UCPVersion20260111 {
		return Order20260111(order)
	}
	return order
}

// Order20260111 converts an order as the REST binding shows it in 2026-04-08 (its REST
// ids set) to its 2026-01-11 shape: for what sends an order to a 2026-01-11 platform
// outside a REST response, such as its order webhooks.
func Order20260111(order []byte) []byte {
	_, out := response20260111(restVersions[len(restVersions)-1], nil, opGetOrder, http.StatusOK, order)
	return out
}
