package envelopes

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

// parseErr parses raw and checks that it is refused with code at path, with the request
// still addressed (messageId, fingerprint) when the message has a valid messageId.
func parseErr(t *testing.T, raw, code, path string) *Request {
	t.Helper()
	req, err := Parse([]byte(raw), testTenant, testContext, Limits{})
	if err == nil {
		t.Fatalf("accepted: %#v\n%s", req.Command, raw)
	}
	var e *commerce.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *commerce.Error", err, err)
	}
	if e.Code != code || e.Path != path {
		t.Fatalf("error %s at %q (%s), want %s at %q", e.Code, e.Path, e.Message, code, path)
	}
	if want := wantKind(code); e.Kind != want {
		t.Fatalf("kind %s, want %s", e.Kind, want)
	}
	if req.Command != nil {
		t.Fatalf("a command with the error: %#v", req.Command)
	}
	return req
}

// encoding/json matches keys without regard to case and lets the last of a repeated key
// win, while the fingerprint keeps case: {"Quantity":7,"quantity":1} (applied as 1) and
// {"quantity":1,"Quantity":7} (applied as 7) had the same fingerprint, so a retry of the
// one was served the reply of the other. Both are refused now, as is any repeated key,
// with the JSONPath of the key that repeats an earlier one.
func TestDuplicateKeysRefused(t *testing.T) {
	const P = "$.params.message"
	const D = P + ".parts[0].data"
	add := func(q string) string { return rpc(`{"action":"add_item","item_id":"sku_tee",` + q + `}`) }
	addr := func(fields string) string {
		return rpc(`{"action":"set_shipping_address","address":{"address_locality":"Springfield","postal_code":"12345",` +
			`"address_country":"US",` + fields + `}}`)
	}
	message := func(fields string) string {
		return rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z",` + fields +
			`"parts":[{"kind":"data","data":{"action":"get_checkout"}}]}`)
	}
	for _, tc := range []struct{ name, raw, path string }{
		{"case variant, lower last", add(`"Quantity":7,"quantity":1`), D + ".quantity"},
		{"case variant, upper last", add(`"quantity":1,"Quantity":7`), D + ".Quantity"},
		{"repeated", add(`"quantity":7,"quantity":1`), D + ".quantity"},
		{"repeated, escaped", add(`"quantity":7,"quantit\u0079":1`), D + ".quantity"},
		{"upper case", add(`"QUANTITY":7,"quantity":1`), D + ".quantity"},
		{"long s folds to s", addr(`"street_address":"1 Main","ſtreet_address":"2 Main"`), D + ".address['ſtreet_address']"},
		{"kelvin sign folds to k", rpc(`{"action":"get_checkout","\u212Aey":1,"key":2}`), D + ".key"},
		{"in an array element", rpc(`{"action":"create_checkout","line_items":[{"item":{"id":"a"},"quantity":1},` +
			`{"item":{"id":"a","ID":"b"},"quantity":1}]}`), D + ".line_items[1].item.ID"},
		{"UCP key", rpc(`{"a2a.ucp.checkout":{},"A2A.UCP.Checkout":{"line_items":[]}}`), D + "['A2A.UCP.Checkout']"},
		{"odd key", rpc(`{"action":"get_checkout","it's":1,"IT'S":2}`), D + `['IT\'S']`},
		{"message field", message(`"Role":"agent",`), P + ".Role"},
		{"messageId", message(`"MessageId":"msg-01J9Z",`), P + ".MessageId"},
		{"null contextId then another", message(`"contextId":null,"ContextId":"other",`), P + ".ContextId"},
		{"contextId then null", message(`"contextId":"ctx-42","contextId":null,`), P + ".contextId"},
		{"metadata", message(`"metadata":{"tenant":"demo","Tenant":"other"},`), P + ".metadata.Tenant"},
		{"part", rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z",` +
			`"parts":[{"kind":"data","Kind":"text","data":{"action":"get_checkout"}}]}`), P + ".parts[0].Kind"},
		{"unread field", rpc(`{"action":"get_checkout","note":"a","Note":"b"}`), D + ".Note"},
		{"among many keys", rpc(`{"action":"get_checkout",` + manyKeys(20) + `,"K3":0}`), D + ".K3"},
		{"long s among many keys", rpc(`{"action":"get_checkout","é":1,` + manyKeys(20) + `,"S":0,"ſ":0}`), D + "['ſ']"},
		{"bare message", `{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[],` +
			`"Parts":[{"kind":"data","data":{"action":"get_checkout"}}]}`, "$.Parts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := parseErr(t, tc.raw, commerce.CodeInvalidParams, tc.path)
			if req.MessageID != "msg-01J9Z" || req.Fingerprint == ([32]byte{}) {
				t.Fatalf("the refusal is not addressed: messageId %q, fingerprint %x", req.MessageID, req.Fingerprint)
			}
		})
	}
}

// manyKeys is n members "k0":0, "k1":0, ...
func manyKeys(n int) string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = `"k` + strconv.Itoa(i) + `":0`
	}
	return strings.Join(ks, ",")
}

// Keys that only look alike are not duplicates.
func TestDistinctKeysAccepted(t *testing.T) {
	for _, data := range []string{
		`{"action":"get_checkout","é":1,"e":2,"ê":3}`, // accents are not case
		`{"action":"get_checkout","ſ":1,"ß":2,"ss":3}`,
		`{"action":"get_checkout","a_b":1,"a-b":2,"a b":3,"A_C":4}`,
		`{"action":"get_checkout",` + manyKeys(40) + `,"K40":0}`,
		`{"action":"get_checkout","x":{"k":1},"y":{"K":1},"z":[{"k":1},{"K":2}]}`,
	} {
		if _, err := Parse([]byte(rpc(data)), testTenant, testContext, Limits{}); err != nil {
			t.Errorf("%s: %v", data, err)
		}
	}
}

// A refused message never shares a fingerprint with an accepted one, not even with the
// one its last-wins reading would mean: a retry of either is then a conflict, not the
// other's reply.
func TestDuplicateKeysFingerprint(t *testing.T) {
	add := func(q string) string { return rpc(`{"action":"add_item","item_id":"sku_tee",` + q + `}`) }
	var fps [][32]byte
	for _, q := range []string{`"quantity":1`, `"quantity":7`} {
		req, err := Parse([]byte(add(q)), testTenant, testContext, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		fps = append(fps, req.Fingerprint)
	}
	for _, q := range []string{`"Quantity":7,"quantity":1`, `"quantity":1,"Quantity":7`, `"quantity":7,"quantity":1`} {
		req, err := Parse([]byte(add(q)), testTenant, testContext, Limits{})
		if err == nil {
			t.Errorf("%s accepted as %#v with the fingerprint of %s", q, req.Command,
				map[bool]string{true: "quantity 1", false: "another"}[req.Fingerprint == fps[0]])
			continue
		}
		for _, fp := range fps {
			if req.Fingerprint == fp {
				t.Errorf("%s (refused) has the fingerprint of an accepted message", q)
			}
		}
	}
}

// Strings that name things (ids, codes, emails, names, addresses, tokens) hold no control
// characters: a NUL in an email, a line break in an address, DEL or a C1 control.
func TestControlCharactersRefused(t *testing.T) {
	const D = "$.params.message.parts[0].data"
	addr := `"street_address":"1 Main","address_locality":"Springfield","postal_code":"12345","address_country":"US"`
	for _, tc := range []struct{ name, data, path string }{
		{"NUL in an email", `{"action":"set_buyer","buyer":{"email":"ada\u0000@example.com"}}`, D + ".buyer.email"},
		{"line break in an address", `{"action":"set_shipping_address","address":{` +
			strings.Replace(addr, `1 Main`, `1 Main\nSpringfield`, 1) + `}}`, D + ".address.street_address"},
		{"tab in a name", `{"action":"set_buyer","buyer":{"first_name":"Ada\tB"}}`, D + ".buyer.first_name"},
		{"DEL in an item id", `{"action":"add_item","item_id":"sku_tee` + "\x7f" + `","quantity":1}`, D + ".item_id"},
		{"C1 control in a code", `{"action":"apply_discount","code":"SAVE10\u0085"}`, D + ".code"},
		{"escape in an order id", `{"action":"get_order","order_id":"ord_1\u001b[2J"}`, D + ".order_id"},
		{"in a code of a list", `{"action":"update_checkout","checkout":{"discounts":{"codes":["SAVE10","X\u0000"]}}}`,
			D + ".checkout.discounts.codes[1]"},
		{"in a token", `{"action":"complete_checkout","payment":{"instruments":[{"handler_id":"mock",` +
			`"credential":{"token":"tok\u0000visa"}}]}}`, D + ".payment.instruments[0].credential.token"},
		{"in a mandate", `{"action":"complete_checkout","payment":{"instruments":[{"handler_id":"mock",` +
			`"credential":{"token":"tok_visa"}}]},"ap2":{"checkout_mandate":"eyJ\u0000"}}`, D + ".ap2.checkout_mandate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parseErr(t, rpc(tc.data), commerce.CodeInvalidParams, tc.path)
		})
	}
	// Letters of any script are not controls.
	req, err := Parse([]byte(rpc(`{"action":"set_buyer","buyer":{"first_name":"Zoë","last_name":"東京","email":"zoë@exämple.com"}}`)),
		testTenant, testContext, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if b := req.Command.(commerce.SetBuyer).Buyer; b.FirstName != "Zoë" || b.LastName != "東京" {
		t.Fatalf("buyer %+v", b)
	}
}

// A numeric JSON-RPC id is bounded like a string one, and is an integer: JSON-RPC 2.0 says
// numbers SHOULD NOT have fractional parts, and an id is echoed as sent.
func TestNumericID(t *testing.T) {
	body := `,"method":"message/send","params":{"message":` + msg(`{"action":"get_checkout"}`) + `}}`
	for _, id := range []string{`0`, `7`, `-7`, `12345678901234567890123`, strings.Repeat("9", 512)} {
		req, err := Parse([]byte(`{"jsonrpc":"2.0","id":`+id+body), testTenant, testContext, Limits{})
		if err != nil || string(req.ID) != id {
			t.Errorf("id %.20s: %v, echoed as %.20s", id, err, req.ID)
		}
	}
	for _, id := range []string{`1.5`, `1.0`, `1e3`, `-2E-1`, strings.Repeat("9", 513), "-" + strings.Repeat("9", 512)} {
		t.Run(id[:min(len(id), 8)], func(t *testing.T) {
			req := parseErr(t, `{"jsonrpc":"2.0","id":`+id+body, commerce.CodeInvalidEnvelope, "")
			if req.ID != nil {
				t.Fatalf("the refused id %.20s would be echoed", req.ID)
			}
		})
	}
}

// The folding that finds duplicate keys is encoding/json's: for every character c of the
// Basic Multilingual Plane, encoding/json reads the key c+"ey" as the field "key" exactly
// when appendFoldedKey folds it as it folds "key".
func TestFoldLikeEncodingJSON(t *testing.T) {
	want := string(appendFoldedKey(nil, []byte("key")))
	var field struct {
		Key int `json:"key"`
	}
	n := 0
	for r := rune(0x20); r <= 0xffff; r++ {
		if r == '"' || r == '\\' || 0xd800 <= r && r <= 0xdfff {
			continue
		}
		k := string(r) + "ey"
		field.Key = 0
		if err := json.Unmarshal([]byte(`{"`+k+`":1}`), &field); err != nil {
			t.Fatalf("%q: %v", k, err)
		}
		folds := string(appendFoldedKey(nil, []byte(k))) == want
		if (field.Key == 1) != folds {
			t.Errorf("%q (U+%04X): encoding/json reads it as key: %v; folded as key: %v", k, r, field.Key == 1, folds)
		}
		if folds {
			n++
		}
	}
	if n != 3 { // k, K and the Kelvin sign
		t.Errorf("%d characters fold to k, want 3", n)
	}
}
