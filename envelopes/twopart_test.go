package envelopes_test

import (
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/envelopes"
)

// TestParseTwoPartComplete: UCP's A2A completion, {"action":"complete_checkout"} and the
// payment in a second data part, in either order, is the same command as the one-part
// form, ap2 included.
func TestParseTwoPartComplete(t *testing.T) {
	const pay = `{"a2a.ucp.checkout.payment":{"instruments":[{"id":"pi_1","handler_id":"mock",` +
		`"credential":{"type":"token","token":"tok_visa"}}]},"ap2":{"checkout_mandate":"jwt~"},"a2a.ucp.checkout.signals":{}}`
	const action = `{"action":"complete_checkout"}`
	for _, tc := range []struct {
		parts    string
		dataPart int
	}{
		{`{"kind":"data","data":` + action + `},{"kind":"data","data":` + pay + `}`, 0},
		{`{"kind":"data","data":` + pay + `},{"kind":"text","text":"hi"},{"kind":"data","data":` + action + `}`, 2},
	} {
		parts := tc.parts
		raw := `{"kind":"message","role":"user","messageId":"m-1","parts":[` + parts + `]}`
		req, err := envelopes.Parse([]byte(raw), "demo", "ctx", envelopes.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", parts, err)
		}
		c, ok := req.Command.(commerce.CompleteCheckout)
		if !ok || len(c.Instruments) != 1 || c.Instruments[0].Credential.Token != "tok_visa" ||
			c.AP2 == nil || c.AP2.CheckoutMandate != "jwt~" {
			t.Fatalf("%s: %#v", parts, req.Command)
		}
		if req.DataPart != tc.dataPart {
			t.Errorf("%s: DataPart %d, want %d (the action's part)", parts, req.DataPart, tc.dataPart)
		}
	}
}
