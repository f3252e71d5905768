package envelopes

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cartwright-dev/cartwright/commerce"
)

// knownCodes are the codes Parse may return, with their kinds.
var knownCodes = map[string]commerce.Kind{
	commerce.CodeParseError:        commerce.KindMalformed,
	commerce.CodeInvalidEnvelope:   commerce.KindMalformed,
	commerce.CodeEnvelopeTooLarge:  commerce.KindMalformed,
	commerce.CodeUnsupportedMethod: commerce.KindInvalid,
	commerce.CodeUnknownAction:     commerce.KindInvalid,
	commerce.CodeInvalidParams:     commerce.KindInvalid,
	commerce.CodeTenantMismatch:    commerce.KindInvalid,
	commerce.CodeContextMismatch:   commerce.KindInvalid,
}

func fuzzSeeds() []string {
	payment := `{"instruments":[{"id":"in_1","handler_id":"mock","type":"card","selected":true,"credential":{"type":"token","token":"tok_visa"}}]}`
	enc, _ := EncodeCheckout(sampleCheckout())
	return []string{
		rpc(`{"action":"create_checkout","line_items":[{"item":{"id":"sku_tee"},"quantity":2}],"buyer":{"email":"a@b.c"},"context":{"address_country":"US"}}`),
		rpc(`{"action":"add_item","item_id":"sku_tee","quantity":2}`),
		rpc(`{"action":"update_item","line_item_id":"li_1","quantity":0}`),
		rpc(`{"action":"set_shipping_address","address":{"street_address":"1 Main","address_locality":"X","address_region":"CA","postal_code":"1","address_country":"us"}}`),
		rpc(`{"action":"complete_checkout","payment":` + payment + `,"ap2":{"checkout_mandate":"jwt"}}`),
		rpc(`{"action":"refund_payment","order_id":"ord_1","amount":500}`),
		rpc(`{"a2a.ucp.checkout":` + string(enc) + `}`),
		rpc(`{"a2a.ucp.checkout.payment":` + payment + `}`),
		rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"type":"shipping","selected_destination_id":"d",` +
			`"destinations":[{"id":"d","address_country":"us","postal_code":"62704"},{"id":"dest_1","address_country":"CA"}]}]}}}`),
		msg(`{"action":"get_checkout"}`),
		`{"type":"message","role":"user","messageId":"m","parts":[{"type":"text","text":"hi"},{"type":"data","data":{"action":"apply_discount","code":"SAVE10"}}]}`,
		`{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"message":{"messageId":"m"}}}`,
		rpcMsg(`{"kind":"message","role":"user","messageId":"m","contextId":"x","metadata":{"tenant":"t"},"parts":[]}`),
		rpc(`{"action":"add_item","item_id":"s\u00e9","quantity":1e2}`),
		`[1,{"a":"\ud800"}]`,
		`{"jsonrpc":"2.0","id":"x","method":"message/send","params":{"message":{"messageId":"m","parts":[{"kind":"data","data":{"action":"x","a":{"b":[{"c":{}}]}}}]}}}`,
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	lim := Limits{MaxEnvelopeBytes: 8 << 10, MaxParts: 4, MaxLineItems: 4, MaxQuantity: 99, MaxStringBytes: 64}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := Parse(raw, testTenant, testContext, lim)
		if req == nil {
			t.Fatal("Parse returned no request")
		}
		if req.ID != nil && !json.Valid(req.ID) {
			t.Fatalf("ID %q is not JSON", req.ID)
		}
		if req.MessageID != "" && !validMessageID(req.MessageID) {
			t.Fatalf("invalid MessageID %q", req.MessageID)
		}
		if err != nil {
			var e *commerce.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *commerce.Error", err, err)
			}
			kind, ok := knownCodes[e.Code]
			if !ok || e.Kind != kind {
				t.Fatalf("error %v: unknown code or kind %v", e, e.Kind)
			}
			if e.Path != "" && !strings.HasPrefix(e.Path, "$") {
				t.Fatalf("path %q is not a JSONPath", e.Path)
			}
			if req.Command != nil {
				t.Fatal("command returned with an error")
			}
			body := ErrorBody(e, req.MessageID)
			if !json.Valid(Wrap(req.ID, body, true)) {
				t.Fatalf("error reply is not JSON: %s", body)
			}
			return
		}
		if req.Command == nil || !validMessageID(req.MessageID) || req.DataPart < 0 {
			t.Fatalf("success without a command or a messageId: %+v", req)
		}
		if req.Fingerprint == ([32]byte{}) {
			t.Fatal("success without a fingerprint")
		}
		// Same input, same request.
		again, _ := Parse(raw, testTenant, testContext, lim)
		if again.Fingerprint != req.Fingerprint {
			t.Fatal("fingerprint is not deterministic")
		}
		// The message re-encoded by encoding/json (keys sorted, no spaces, strings escaped
		// its way, repeated keys collapsed) has the same fingerprint.
		env, _ := Decode(raw, lim)
		if utf8.Valid(env.Message) {
			dec := json.NewDecoder(bytes.NewReader(env.Message))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			re, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if fp, _ := fingerprint(re, testContext); fp != req.Fingerprint {
				t.Fatalf("re-encoded message fingerprints differently:\n%s\n%s", env.Message, re)
			}
			// What is fingerprinted is what is decoded: the re-encoded message, sent bare,
			// is the same command.
			bare, err := Parse(re, testTenant, testContext, lim)
			if err != nil || !reflect.DeepEqual(bare.Command, req.Command) {
				t.Fatalf("re-encoded message is another command: %v\n%#v\n%#v\n%s\n%s", err, bare.Command, req.Command, env.Message, re)
			}
			// No object holds two keys encoding/json would take for one.
			checkFoldedKeys(t, v)
		}
	})
}

// checkFoldedKeys fails when some object in v has two keys that strings.EqualFold (whose
// equality encoding/json's folding is documented to match) takes for one.
func checkFoldedKeys(t *testing.T, v any) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k, x := range v {
			for _, other := range keys {
				if strings.EqualFold(k, other) {
					t.Fatalf("accepted an object with keys %q and %q", other, k)
				}
			}
			keys = append(keys, k)
			checkFoldedKeys(t, x)
		}
	case []any:
		for _, x := range v {
			checkFoldedKeys(t, x)
		}
	}
}
