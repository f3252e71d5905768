package envelopes

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

func TestParseActions(t *testing.T) {
	checkoutObj := `{"line_items":[{"item":{"id":"sku_tee"},"quantity":2},{"item":{"id":"sku_mug"},"quantity":1}],` +
		`"buyer":{"email":"ada@example.com"},"context":{"address_country":"US"},` +
		`"fulfillment":{"methods":[{"type":"shipping","destinations":[{"id":"d1","street_address":"1 Market St",` +
		`"address_locality":"San Francisco","address_region":"CA","postal_code":"94107","address_country":"us"}],` +
		`"groups":[{"selected_option_id":"exp"}]}]},"discounts":{"codes":["SAVE10"]}}`
	update := commerce.UpdateCheckout{
		LineItems: []commerce.LineItemInput{{ItemID: "sku_tee", Quantity: 2}, {ItemID: "sku_mug", Quantity: 1}},
		Buyer:     &commerce.Buyer{Email: "ada@example.com"},
		Context:   &commerce.BuyerContext{AddressCountry: "US"},
		Address: &commerce.Address{StreetAddress: "1 Market St", AddressLocality: "San Francisco",
			AddressRegion: "CA", PostalCode: "94107", AddressCountry: "US"},
		Destinations: []commerce.Destination{{ID: "d1", Address: commerce.Address{StreetAddress: "1 Market St", AddressLocality: "San Francisco",
			AddressRegion: "CA", PostalCode: "94107", AddressCountry: "US"}}},
		DestinationID:     "d1",
		ShippingRequested: true,
		SelectedOptionID:  "exp",
		DiscountCodes:     []string{"SAVE10"},
	}
	payment := `{"instruments":[{"id":"in_1","handler_id":"mock","type":"card","selected":true,` +
		`"credential":{"type":"token","token":"tok_visa"}}]}`
	instruments := []commerce.PaymentInstrument{{ID: "in_1", HandlerID: "mock", Type: "card", Selected: true,
		Credential: commerce.Credential{Type: "token", Token: "tok_visa"}}}

	tests := []struct {
		name string
		raw  string
		want commerce.Command
	}{
		{"create_checkout empty", rpc(`{"action":"create_checkout"}`), commerce.CreateCheckout{}},
		{"create_checkout full", rpc(`{"action":"create_checkout","line_items":[{"item":{"id":"sku_tee"},"quantity":2}],` +
			`"buyer":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone_number":"+15550100"},` +
			`"context":{"address_country":"US","address_region":"CA","postal_code":"94107"}}`),
			commerce.CreateCheckout{
				LineItems: []commerce.LineItemInput{{ItemID: "sku_tee", Quantity: 2}},
				Buyer:     &commerce.Buyer{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", PhoneNumber: "+15550100"},
				Context:   &commerce.BuyerContext{AddressCountry: "US", AddressRegion: "CA", PostalCode: "94107"},
			}},
		{"get_checkout", rpc(`{"action":"get_checkout"}`), commerce.GetCheckout{}},
		{"update_checkout", rpc(`{"action":"update_checkout","checkout":` + checkoutObj + `}`), update},
		{"update_checkout clears", rpc(`{"action":"update_checkout","checkout":{}}`), commerce.UpdateCheckout{}},
		{"add_item", rpc(`{"action":"add_item","item_id":"sku_tee","quantity":2}`),
			commerce.AddItem{ItemID: "sku_tee", Quantity: 2}},
		{"add_item max quantity", rpc(`{"action":"add_item","item_id":"sku_tee","quantity":999}`),
			commerce.AddItem{ItemID: "sku_tee", Quantity: 999}},
		{"update_item", rpc(`{"action":"update_item","line_item_id":"li_1","quantity":5}`),
			commerce.UpdateItem{LineItemID: "li_1", Quantity: 5}},
		{"update_item zero removes", rpc(`{"action":"update_item","line_item_id":"li_1","quantity":0}`),
			commerce.UpdateItem{LineItemID: "li_1", Quantity: 0}},
		{"remove_item", rpc(`{"action":"remove_item","line_item_id":"li_2"}`), commerce.RemoveItem{LineItemID: "li_2"}},
		{"set_buyer", rpc(`{"action":"set_buyer","buyer":{"email":"ada@example.com","first_name":"Ada"}}`),
			commerce.SetBuyer{Buyer: commerce.Buyer{Email: "ada@example.com", FirstName: "Ada"}}},
		{"set_shipping_address", rpc(`{"action":"set_shipping_address","address":{"street_address":"1 Market St",` +
			`"address_locality":"San Francisco","address_region":"CA","postal_code":"94107","address_country":"us"}}`),
			commerce.SetShippingAddress{Address: commerce.Address{StreetAddress: "1 Market St", AddressLocality: "San Francisco",
				AddressRegion: "CA", PostalCode: "94107", AddressCountry: "US"}}},
		{"set_shipping_address without region", rpc(`{"action":"set_shipping_address","address":{"street_address":"1 Main",` +
			`"address_locality":"Springfield","postal_code":"12345","address_country":"US"}}`),
			commerce.SetShippingAddress{Address: commerce.Address{StreetAddress: "1 Main", AddressLocality: "Springfield",
				PostalCode: "12345", AddressCountry: "US"}}},
		{"list_shipping_options", rpc(`{"action":"list_shipping_options"}`), commerce.ListShippingOptions{}},
		{"select_shipping_option", rpc(`{"action":"select_shipping_option","option_id":"exp"}`),
			commerce.SelectShippingOption{OptionID: "exp"}},
		{"apply_discount", rpc(`{"action":"apply_discount","code":"SAVE10"}`), commerce.ApplyDiscount{Code: "SAVE10"}},
		{"remove_discount", rpc(`{"action":"remove_discount","code":"SAVE10"}`), commerce.RemoveDiscount{Code: "SAVE10"}},
		{"complete_checkout", rpc(`{"action":"complete_checkout","payment":` + payment + `}`),
			commerce.CompleteCheckout{Instruments: instruments}},
		{"complete_checkout with ap2", rpc(`{"action":"complete_checkout","payment":` + payment +
			`,"ap2":{"checkout_mandate":"eyJhbGciOiJFUzI1NiJ9.e30.sig~"}}`),
			commerce.CompleteCheckout{Instruments: instruments, AP2: &commerce.Mandate{CheckoutMandate: "eyJhbGciOiJFUzI1NiJ9.e30.sig~"}}},
		{"complete_checkout with long mandate", rpc(`{"action":"complete_checkout","payment":` + payment +
			`,"ap2":{"checkout_mandate":"` + strings.Repeat("a", 2000) + `"}}`),
			commerce.CompleteCheckout{Instruments: instruments, AP2: &commerce.Mandate{CheckoutMandate: strings.Repeat("a", 2000)}}},
		{"cancel_checkout", rpc(`{"action":"cancel_checkout"}`), commerce.CancelCheckout{}},
		{"get_order", rpc(`{"action":"get_order","order_id":"ord_1"}`), commerce.GetOrder{OrderID: "ord_1"}},
		{"cancel_order", rpc(`{"action":"cancel_order","order_id":"ord_1"}`), commerce.CancelOrder{OrderID: "ord_1"}},
		{"capture_payment all", rpc(`{"action":"capture_payment","order_id":"ord_1"}`), commerce.CapturePayment{OrderID: "ord_1"}},
		{"capture_payment amount", rpc(`{"action":"capture_payment","order_id":"ord_1","amount":500}`),
			commerce.CapturePayment{OrderID: "ord_1", Amount: int64p(500)}},
		{"capture_payment null amount", rpc(`{"action":"capture_payment","order_id":"ord_1","amount":null}`),
			commerce.CapturePayment{OrderID: "ord_1"}},
		{"void_payment", rpc(`{"action":"void_payment","order_id":"ord_1"}`), commerce.VoidPayment{OrderID: "ord_1"}},
		{"refund_payment", rpc(`{"action":"refund_payment","order_id":"ord_1","amount":9223372036854775807}`),
			commerce.RefundPayment{OrderID: "ord_1", Amount: int64p(9223372036854775807)}},
		{"refund_payment all", rpc(`{"action":"refund_payment","order_id":"ord_1"}`), commerce.RefundPayment{OrderID: "ord_1"}},

		// The UCP form.
		{"ucp checkout", rpc(`{"a2a.ucp.checkout":` + checkoutObj + `}`), commerce.UpsertCheckout{Update: update}},
		{"ucp payment", rpc(`{"a2a.ucp.checkout.payment":` + payment + `,"a2a.ucp.checkout.signals":{"ip":"x"}}`),
			commerce.CompleteCheckout{Instruments: instruments}},
		{"ucp payment with ap2", rpc(`{"a2a.ucp.checkout.payment":` + payment + `,"ap2":{"checkout_mandate":"jwt"}}`),
			commerce.CompleteCheckout{Instruments: instruments, AP2: &commerce.Mandate{CheckoutMandate: "jwt"}}},
		{"ucp payment wins over checkout", rpc(`{"a2a.ucp.checkout":{"line_items":"ignored"},"a2a.ucp.checkout.payment":` + payment + `}`),
			commerce.CompleteCheckout{Instruments: instruments}},
		{"action wins over ucp keys", rpc(`{"action":"get_checkout","a2a.ucp.checkout":{}}`), commerce.GetCheckout{}},

		// Tolerance.
		{"unknown fields ignored", rpc(`{"action":"add_item","item_id":"sku_tee","quantity":1,"note":"x","code":5}`),
			commerce.AddItem{ItemID: "sku_tee", Quantity: 1}},
		{"escaped strings", rpc(`{"action":"add_item","item_id":"sku_t\u0065e","quantity":1}`),
			commerce.AddItem{ItemID: "sku_tee", Quantity: 1}},
		{"selected destination picked", rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[` +
			`{"type":"pickup","destinations":[{"id":"store"}]},` +
			`{"type":"shipping","selected_destination_id":"b","destinations":[{"id":"a","street_address":"1 Oak","address_locality":"Austin","postal_code":"73301","address_country":"US"},` +
			`{"id":"b","street_address":"2 Elm","address_locality":"Austin","postal_code":"73301","address_country":"US"}]}]}}}`),
			commerce.UpsertCheckout{Update: commerce.UpdateCheckout{Address: &commerce.Address{StreetAddress: "2 Elm",
				AddressLocality: "Austin", PostalCode: "73301", AddressCountry: "US"},
				Destinations: []commerce.Destination{
					{ID: "a", Address: commerce.Address{StreetAddress: "1 Oak", AddressLocality: "Austin", PostalCode: "73301", AddressCountry: "US"}},
					{ID: "b", Address: commerce.Address{StreetAddress: "2 Elm", AddressLocality: "Austin", PostalCode: "73301", AddressCountry: "US"}}},
				DestinationID: "b", ShippingRequested: true}}},
		{"partial destination", rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"type":"shipping","selected_destination_id":"dest_us",` +
			`"destinations":[{"id":"dest_us","address_country":"us","postal_code":"62704"}]}]}}}`),
			commerce.UpsertCheckout{Update: commerce.UpdateCheckout{Address: &commerce.Address{PostalCode: "62704", AddressCountry: "US"},
				Destinations:  []commerce.Destination{{ID: "dest_us", Address: commerce.Address{PostalCode: "62704", AddressCountry: "US"}}},
				DestinationID: "dest_us", ShippingRequested: true}}},
		{"saved destination by id", rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"type":"shipping","selected_destination_id":"addr_2"}]}}}`),
			commerce.UpsertCheckout{Update: commerce.UpdateCheckout{DestinationID: "addr_2", ShippingRequested: true}}},
		{"consent and customer", rpc(`{"a2a.ucp.checkout":{"buyer":{"email":"a@example.com","customer_id":"cust_1",` +
			`"consent":{"marketing":false,"analytics":true,"preferences":null}}}}`),
			commerce.UpsertCheckout{Update: commerce.UpdateCheckout{Buyer: &commerce.Buyer{Email: "a@example.com", CustomerID: "cust_1",
				Consent: &commerce.Consent{Marketing: ptr(false), Analytics: ptr(true)}}}}},
		{"card and binding", rpc(`{"a2a.ucp.checkout.payment":{"instruments":[` +
			`{"id":"c","handler_id":"mock_payment_handler","type":"card","credential":{"type":"card","card_number_type":"fpan",` +
			`"number":"4242424242424242","expiry_month":12,"expiry_year":2030,"cvc":"123","name":"John Doe"}},` +
			`{"id":"t","handler_id":"mock_payment_handler","type":"card","credential":{"type":"stripe_token","token":"success_token",` +
			`"binding":{"checkout_id":"chk_1","identity":{"access_token":"user_access_token"}}}}]}}`),
			commerce.CompleteCheckout{Instruments: []commerce.PaymentInstrument{
				{ID: "c", HandlerID: "mock_payment_handler", Type: "card", Credential: commerce.Credential{Type: "card",
					Card: &commerce.CardCredential{NumberType: "fpan", Number: "4242424242424242", ExpiryMonth: 12, ExpiryYear: 2030, CVC: "123", Name: "John Doe"}}},
				{ID: "t", HandlerID: "mock_payment_handler", Type: "card", Credential: commerce.Credential{Type: "stripe_token", Token: "success_token",
					Binding: &commerce.Binding{CheckoutID: "chk_1", AccessToken: "user_access_token"}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Parse([]byte(tt.raw), testTenant, testContext, DefaultLimits())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(req.Command, tt.want) {
				t.Errorf("command\n got %#v\nwant %#v", req.Command, tt.want)
			}
			if !req.JSONRPC || string(req.ID) != `"req-7"` || req.MessageID != "msg-01J9Z" ||
				req.ContextID != testContext || req.DataPart != 0 || req.Fingerprint == ([32]byte{}) {
				t.Errorf("request = %+v", req)
			}
		})
	}
}

func TestParseForms(t *testing.T) {
	add := commerce.AddItem{ItemID: "sku_tee", Quantity: 2}
	data := `{"action":"add_item","item_id":"sku_tee","quantity":2}`
	tests := []struct {
		name     string
		raw      string
		jsonrpc  bool
		id       string
		dataPart int
	}{
		{"json-rpc", rpc(data), true, `"req-7"`, 0},
		{"json-rpc numeric id", `{"jsonrpc":"2.0","id":7,"method":"message/send","params":{"message":` + msg(data) + `}}`, true, `7`, 0},
		{"json-rpc null id", `{"jsonrpc":"2.0","id":null,"method":"message/send","params":{"message":` + msg(data) + `}}`, true, ``, 0},
		{"json-rpc without id", `{"jsonrpc":"2.0","method":"message/send","params":{"message":` + msg(data) + `}}`, true, ``, 0},
		{"bare", msg(data), false, ``, 0},
		{"bare type alias", `{"type":"message","role":"user","messageId":"msg-01J9Z","parts":[{"type":"data","data":` + data + `}]}`, false, ``, 0},
		{"bare without kind", `{"role":"user","messageId":"msg-01J9Z","parts":[{"kind":"data","data":` + data + `}]}`, false, ``, 0},
		{"type alias in json-rpc", rpcMsg(`{"type":"message","role":"user","messageId":"msg-01J9Z","parts":[{"type":"data","data":` + data + `}]}`), true, `"req-7"`, 0},
		{"text and file parts", rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[` +
			`{"kind":"text","text":"` + strings.Repeat("please ", 200) + `"},{"kind":"data","data":` + data + `},` +
			`{"kind":"file","file":{"uri":"https://example.com/x.pdf"}}]}`), true, `"req-7"`, 1},
		{"same tenant in metadata", rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","metadata":{"tenant":"demo"},` +
			`"parts":[{"kind":"data","data":` + data + `}]}`), true, `"req-7"`, 0},
		{"white space", "\n {\"jsonrpc\" : \"2.0\", \"id\" : \"req-7\", \"method\":\"message/send\",\n\t\"params\":{\"message\":" + msg(data) + "}} \n", true, `"req-7"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Parse([]byte(tt.raw), testTenant, testContext, Limits{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(req.Command, add) {
				t.Errorf("command = %#v", req.Command)
			}
			if req.JSONRPC != tt.jsonrpc || string(req.ID) != tt.id || req.MessageID != "msg-01J9Z" ||
				req.ContextID != testContext || req.DataPart != tt.dataPart {
				t.Errorf("request = %+v", req)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const P = "$.params.message"
	const D = P + ".parts[0].data"
	add := func(rest string) string { return rpc(`{"action":"add_item","item_id":"sku_tee"` + rest + `}`) }
	addr := func(fields string) string {
		return rpc(`{"action":"set_shipping_address","address":{` + fields + `}}`)
	}
	okAddr := `"street_address":"1 Main","address_locality":"Springfield","postal_code":"12345"`
	pay := func(instr string) string {
		return rpc(`{"action":"complete_checkout","payment":{"instruments":[` + instr + `]}}`)
	}
	long := strings.Repeat("x", 513)
	lines := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = `{"item":{"id":"sku_tee"},"quantity":1}`
		}
		return rpc(`{"action":"create_checkout","line_items":[` + strings.Join(items, ",") + `]}`)
	}
	parts := func(n int) string {
		ps := make([]string, n)
		for i := range ps {
			ps[i] = `{"kind":"text","text":"hi"}`
		}
		ps[0] = `{"kind":"data","data":{"action":"get_checkout"}}`
		return rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[` + strings.Join(ps, ",") + `]}`)
	}

	tests := []struct {
		name      string
		raw       string
		lim       Limits
		code      string
		path      string
		messageID string // expected Request.MessageID
		id        string // expected Request.ID
	}{
		// envelope_too_large, parse_error, invalid_envelope: malformed.
		{name: "too large", raw: rpc(`{"action":"get_checkout"}`), lim: Limits{MaxEnvelopeBytes: 64}, code: commerce.CodeEnvelopeTooLarge},
		{name: "too large even if not JSON", raw: strings.Repeat("{", 300), lim: Limits{MaxEnvelopeBytes: 256}, code: commerce.CodeEnvelopeTooLarge},
		{name: "empty", raw: ``, code: commerce.CodeParseError},
		{name: "not JSON", raw: `hello`, code: commerce.CodeParseError},
		{name: "truncated", raw: `{"jsonrpc":"2.0",`, code: commerce.CodeParseError},
		{name: "trailing garbage", raw: rpc(`{"action":"get_checkout"}`) + `}`, code: commerce.CodeParseError},
		{name: "array", raw: `[{"jsonrpc":"2.0"}]`, code: commerce.CodeInvalidEnvelope},
		{name: "string", raw: `"message/send"`, code: commerce.CodeInvalidEnvelope},
		{name: "null", raw: `null`, code: commerce.CodeInvalidEnvelope},
		{name: "empty object", raw: `{}`, code: commerce.CodeInvalidEnvelope},
		{name: "other object", raw: `{"hello":"world"}`, code: commerce.CodeInvalidEnvelope},
		{name: "bare without parts", raw: `{"messageId":"msg-01J9Z","role":"user"}`, code: commerce.CodeInvalidEnvelope, messageID: "msg-01J9Z"},
		{name: "jsonrpc 1.0", raw: `{"jsonrpc":"1.0","id":"req-7","method":"message/send","params":{"message":` + msg(`{}`) + `}}`,
			code: commerce.CodeInvalidEnvelope, messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "jsonrpc as number", raw: `{"jsonrpc":2,"id":"req-7","method":"message/send","params":{}}`, code: commerce.CodeInvalidEnvelope, id: `"req-7"`},
		{name: "no method", raw: `{"jsonrpc":"2.0","id":"req-7","params":{"message":` + msg(`{}`) + `}}`,
			code: commerce.CodeInvalidEnvelope, messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "method not a string", raw: `{"jsonrpc":"2.0","id":1,"method":5,"params":{}}`, code: commerce.CodeInvalidEnvelope, id: `1`},
		{name: "id an object", raw: `{"jsonrpc":"2.0","id":{"a":1},"method":"message/send","params":{"message":` + msg(`{}`) + `}}`,
			code: commerce.CodeInvalidEnvelope, messageID: "msg-01J9Z"},
		{name: "id too long", raw: `{"jsonrpc":"2.0","id":"` + long + `","method":"message/send","params":{"message":` + msg(`{}`) + `}}`,
			code: commerce.CodeInvalidEnvelope, messageID: "msg-01J9Z"},
		{name: "no params", raw: `{"jsonrpc":"2.0","id":"req-7","method":"message/send"}`, code: commerce.CodeInvalidEnvelope, id: `"req-7"`},
		{name: "params.message not an object", raw: `{"jsonrpc":"2.0","id":"req-7","method":"message/send","params":{"message":"hi"}}`,
			code: commerce.CodeInvalidEnvelope, id: `"req-7"`},
		{name: "no messageId", raw: rpcMsg(`{"kind":"message","role":"user","parts":[]}`), code: commerce.CodeInvalidEnvelope, id: `"req-7"`},
		{name: "messageId a number", raw: rpcMsg(`{"kind":"message","role":"user","messageId":42,"parts":[]}`), code: commerce.CodeInvalidEnvelope, id: `"req-7"`},
		{name: "messageId bad character", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg 1","parts":[]}`), code: commerce.CodeInvalidEnvelope, id: `"req-7"`},
		{name: "messageId empty", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"","parts":[]}`), code: commerce.CodeInvalidEnvelope, id: `"req-7"`},
		{name: "messageId too long", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"` + strings.Repeat("m", 129) + `","parts":[]}`),
			code: commerce.CodeInvalidEnvelope, id: `"req-7"`},
		{name: "bare messageId too long", raw: `{"kind":"message","role":"user","messageId":"` + strings.Repeat("m", 129) + `","parts":[]}`,
			code: commerce.CodeInvalidEnvelope},
		{name: "kind task", raw: rpcMsg(`{"kind":"task","role":"user","messageId":"msg-01J9Z","parts":[]}`),
			code: commerce.CodeInvalidEnvelope, messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "kind a number", raw: rpcMsg(`{"kind":1,"role":"user","messageId":"msg-01J9Z","parts":[]}`),
			code: commerce.CodeInvalidEnvelope, messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "bare kind task", raw: `{"kind":"task","messageId":"msg-01J9Z","parts":[]}`, code: commerce.CodeInvalidEnvelope, messageID: "msg-01J9Z"},

		// unsupported_method.
		{name: "tasks/get", raw: `{"jsonrpc":"2.0","id":"req-7","method":"tasks/get","params":{"id":"task-1"}}`,
			code: commerce.CodeUnsupportedMethod, path: "$.method", id: `"req-7"`},
		{name: "message/stream", raw: `{"jsonrpc":"2.0","id":"req-7","method":"message/stream","params":{"message":` + msg(`{}`) + `}}`,
			code: commerce.CodeUnsupportedMethod, path: "$.method", messageID: "msg-01J9Z", id: `"req-7"`},

		// tenant_mismatch, context_mismatch.
		{name: "other tenant", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","metadata":{"tenant":"acme"},"parts":[]}`),
			code: commerce.CodeTenantMismatch, path: P + ".metadata.tenant", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "other context", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","contextId":"ctx-43","parts":[]}`),
			code: commerce.CodeContextMismatch, path: P + ".contextId", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "bare other context", raw: `{"kind":"message","role":"user","messageId":"msg-01J9Z","contextId":"","parts":[]}`,
			code: commerce.CodeContextMismatch, path: "$.contextId", messageID: "msg-01J9Z"},

		// invalid_params on the message.
		{name: "role agent", raw: rpcMsg(`{"kind":"message","role":"agent","messageId":"msg-01J9Z","parts":[]}`),
			code: commerce.CodeInvalidParams, path: P + ".role", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "no role", raw: rpcMsg(`{"kind":"message","messageId":"msg-01J9Z","parts":[]}`),
			code: commerce.CodeInvalidParams, path: P + ".role", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "role a number", raw: rpcMsg(`{"kind":"message","role":1,"messageId":"msg-01J9Z","parts":[]}`),
			code: commerce.CodeInvalidParams, path: P + ".role", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "contextId a number", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","contextId":42,"parts":[]}`),
			code: commerce.CodeInvalidParams, path: P + ".contextId", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "metadata a string", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","metadata":"x","parts":[]}`),
			code: commerce.CodeInvalidParams, path: P + ".metadata", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "tenant a number", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","metadata":{"tenant":7},"parts":[]}`),
			code: commerce.CodeInvalidParams, path: P + ".metadata.tenant", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "parts an object", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":{}}`),
			code: commerce.CodeInvalidParams, path: P + ".parts", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "no parts", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z"}`),
			code: commerce.CodeInvalidParams, path: P + ".parts", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "no data part", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[{"kind":"text","text":"hi"}]}`),
			code: commerce.CodeInvalidParams, path: P + ".parts", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "two data parts", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[` +
			`{"kind":"data","data":{"action":"get_checkout"}},{"type":"data","data":{"action":"get_checkout"}}]}`),
			code: commerce.CodeInvalidParams, path: P + ".parts", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "17 parts", raw: parts(17), code: commerce.CodeInvalidParams, path: P + ".parts", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "part not an object", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[{"kind":"data","data":{}},"x"]}`),
			code: commerce.CodeInvalidParams, path: P + ".parts[1]", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "part kind unknown", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[{"kind":"image"}]}`),
			code: commerce.CodeInvalidParams, path: P + ".parts[0].kind", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "part kind a number", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[{"kind":3}]}`),
			code: commerce.CodeInvalidParams, path: P + ".parts[0].kind", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "part without kind", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[{"data":{}}]}`),
			code: commerce.CodeInvalidParams, path: P + ".parts[0].kind", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "data not an object", raw: rpc(`["add_item"]`), code: commerce.CodeInvalidParams, path: D, messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "data missing", raw: rpcMsg(`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[{"kind":"data"}]}`),
			code: commerce.CodeInvalidParams, path: D, messageID: "msg-01J9Z", id: `"req-7"`},

		// The action.
		{name: "no action", raw: rpc(`{"item_id":"sku_tee"}`), code: commerce.CodeInvalidParams, path: D + ".action", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "action a number", raw: rpc(`{"action":1}`), code: commerce.CodeInvalidParams, path: D + ".action", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "action too long", raw: rpc(`{"action":"` + long + `"}`), code: commerce.CodeInvalidParams, path: D + ".action", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "unknown action", raw: rpc(`{"action":"buy_everything"}`), code: commerce.CodeUnknownAction, path: D + ".action", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "empty action", raw: rpc(`{"action":""}`), code: commerce.CodeUnknownAction, path: D + ".action", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "upsert is not an action", raw: rpc(`{"action":"upsert_checkout"}`), code: commerce.CodeUnknownAction, path: D + ".action", messageID: "msg-01J9Z", id: `"req-7"`},

		// Arguments.
		{name: "quantity zero", raw: add(`,"quantity":0`), code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "quantity 1000", raw: add(`,"quantity":1000`), code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "quantity negative", raw: add(`,"quantity":-1`), code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "quantity huge", raw: add(`,"quantity":123456789012345678901234567890`), code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "quantity a string", raw: add(`,"quantity":"2"`), code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "quantity a float", raw: add(`,"quantity":2.5`), code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "quantity 2.0", raw: add(`,"quantity":2.0`), code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "quantity exponent", raw: add(`,"quantity":2e0`), code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "quantity missing", raw: add(``), code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "quantity over a lower limit", raw: add(`,"quantity":11`), lim: Limits{MaxQuantity: 10}, code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "item_id missing", raw: rpc(`{"action":"add_item","quantity":1}`), code: commerce.CodeInvalidParams, path: D + ".item_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "item_id a number", raw: rpc(`{"action":"add_item","item_id":7,"quantity":1}`), code: commerce.CodeInvalidParams, path: D + ".item_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "item_id empty", raw: rpc(`{"action":"add_item","item_id":"","quantity":1}`), code: commerce.CodeInvalidParams, path: D + ".item_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "item_id too long", raw: rpc(`{"action":"add_item","item_id":"` + long + `","quantity":1}`), code: commerce.CodeInvalidParams, path: D + ".item_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "update_item negative", raw: rpc(`{"action":"update_item","line_item_id":"li_1","quantity":-1}`), code: commerce.CodeInvalidParams, path: D + ".quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "update_item no line", raw: rpc(`{"action":"update_item","quantity":1}`), code: commerce.CodeInvalidParams, path: D + ".line_item_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "remove_item no line", raw: rpc(`{"action":"remove_item"}`), code: commerce.CodeInvalidParams, path: D + ".line_item_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "101 line items", raw: lines(101), code: commerce.CodeInvalidParams, path: D + ".line_items", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "line_items an object", raw: rpc(`{"action":"create_checkout","line_items":{}}`), code: commerce.CodeInvalidParams, path: D + ".line_items", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "line item quantity", raw: rpc(`{"action":"create_checkout","line_items":[{"item":{"id":"a"},"quantity":1},{"item":{"id":"b"},"quantity":0}]}`),
			code: commerce.CodeInvalidParams, path: D + ".line_items[1].quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "line item id missing", raw: rpc(`{"action":"create_checkout","line_items":[{"item":{},"quantity":1}]}`),
			code: commerce.CodeInvalidParams, path: D + ".line_items[0].item.id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "line item without item", raw: rpc(`{"action":"create_checkout","line_items":[{"quantity":1}]}`),
			code: commerce.CodeInvalidParams, path: D + ".line_items[0].item", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "line item a string", raw: rpc(`{"action":"create_checkout","line_items":["sku_tee"]}`),
			code: commerce.CodeInvalidParams, path: D + ".line_items[0]", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "buyer a string", raw: rpc(`{"action":"create_checkout","buyer":"ada"}`), code: commerce.CodeInvalidParams, path: D + ".buyer", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "buyer email a number", raw: rpc(`{"action":"set_buyer","buyer":{"email":1}}`), code: commerce.CodeInvalidParams, path: D + ".buyer.email", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "set_buyer without buyer", raw: rpc(`{"action":"set_buyer"}`), code: commerce.CodeInvalidParams, path: D + ".buyer", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "context country a number", raw: rpc(`{"action":"create_checkout","context":{"address_country":1}}`), code: commerce.CodeInvalidParams, path: D + ".context.address_country", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "no address", raw: rpc(`{"action":"set_shipping_address"}`), code: commerce.CodeInvalidParams, path: D + ".address", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "address country missing", raw: addr(okAddr), code: commerce.CodeInvalidParams, path: D + ".address.address_country", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "address country USA", raw: addr(okAddr + `,"address_country":"USA"`), code: commerce.CodeInvalidParams, path: D + ".address.address_country", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "address country digits", raw: addr(okAddr + `,"address_country":"12"`), code: commerce.CodeInvalidParams, path: D + ".address.address_country", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "address street missing", raw: addr(`"address_locality":"x","postal_code":"1","address_country":"US"`), code: commerce.CodeInvalidParams, path: D + ".address.street_address", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "address locality missing", raw: addr(`"street_address":"x","postal_code":"1","address_country":"US"`), code: commerce.CodeInvalidParams, path: D + ".address.address_locality", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "address postal code missing", raw: addr(`"street_address":"x","address_locality":"y","address_country":"US"`), code: commerce.CodeInvalidParams, path: D + ".address.postal_code", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "address region a number", raw: addr(okAddr + `,"address_region":5,"address_country":"US"`), code: commerce.CodeInvalidParams, path: D + ".address.address_region", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "option_id missing", raw: rpc(`{"action":"select_shipping_option"}`), code: commerce.CodeInvalidParams, path: D + ".option_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "code missing", raw: rpc(`{"action":"apply_discount"}`), code: commerce.CodeInvalidParams, path: D + ".code", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "code a list", raw: rpc(`{"action":"remove_discount","code":["A"]}`), code: commerce.CodeInvalidParams, path: D + ".code", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "payment missing", raw: rpc(`{"action":"complete_checkout"}`), code: commerce.CodeInvalidParams, path: D + ".payment", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "no instruments", raw: pay(``), code: commerce.CodeInvalidParams, path: D + ".payment.instruments", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "instrument without handler", raw: pay(`{"credential":{"token":"tok_visa"}}`), code: commerce.CodeInvalidParams, path: D + ".payment.instruments[0].handler_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "instrument without credential", raw: pay(`{"handler_id":"mock"}`), code: commerce.CodeInvalidParams, path: D + ".payment.instruments[0].credential", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "instrument without token", raw: pay(`{"handler_id":"mock","credential":{"type":"token"}}`), code: commerce.CodeInvalidParams, path: D + ".payment.instruments[0].credential.token", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "instrument selected a string", raw: pay(`{"handler_id":"mock","selected":"yes","credential":{"token":"t"}}`), code: commerce.CodeInvalidParams, path: D + ".payment.instruments[0].selected", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "second instrument", raw: pay(`{"handler_id":"mock","credential":{"token":"t"}},{"handler_id":"mock","credential":{"token":5}}`), code: commerce.CodeInvalidParams, path: D + ".payment.instruments[1].credential.token", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ap2 without mandate", raw: rpc(`{"action":"complete_checkout","payment":{"instruments":[{"handler_id":"mock","credential":{"token":"t"}}]},"ap2":{}}`),
			code: commerce.CodeInvalidParams, path: D + ".ap2.checkout_mandate", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "order_id missing", raw: rpc(`{"action":"get_order"}`), code: commerce.CodeInvalidParams, path: D + ".order_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "cancel_order order_id missing", raw: rpc(`{"action":"cancel_order"}`), code: commerce.CodeInvalidParams, path: D + ".order_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "void order_id missing", raw: rpc(`{"action":"void_payment","order_id":null}`), code: commerce.CodeInvalidParams, path: D + ".order_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "amount zero", raw: rpc(`{"action":"capture_payment","order_id":"o","amount":0}`), code: commerce.CodeInvalidParams, path: D + ".amount", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "amount negative", raw: rpc(`{"action":"refund_payment","order_id":"o","amount":-5}`), code: commerce.CodeInvalidParams, path: D + ".amount", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "amount a float", raw: rpc(`{"action":"refund_payment","order_id":"o","amount":12.5}`), code: commerce.CodeInvalidParams, path: D + ".amount", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "amount a string", raw: rpc(`{"action":"capture_payment","order_id":"o","amount":"500"}`), code: commerce.CodeInvalidParams, path: D + ".amount", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "amount overflows", raw: rpc(`{"action":"capture_payment","order_id":"o","amount":9223372036854775808}`), code: commerce.CodeInvalidParams, path: D + ".amount", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "update_checkout without checkout", raw: rpc(`{"action":"update_checkout"}`), code: commerce.CodeInvalidParams, path: D + ".checkout", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "update_checkout line quantity", raw: rpc(`{"action":"update_checkout","checkout":{"line_items":[{"item":{"id":"a"},"quantity":1000}]}}`),
			code: commerce.CodeInvalidParams, path: D + ".checkout.line_items[0].quantity", messageID: "msg-01J9Z", id: `"req-7"`},

		// The UCP form.
		{name: "ucp checkout a string", raw: rpc(`{"a2a.ucp.checkout":"x"}`), code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout']", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp quantity", raw: rpc(`{"a2a.ucp.checkout":{"line_items":[{"item":{"id":"a"},"quantity":"1"}]}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].line_items[0].quantity", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp discount code", raw: rpc(`{"a2a.ucp.checkout":{"discounts":{"codes":["A",1]}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].discounts.codes[1]", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp discounts codes a string", raw: rpc(`{"a2a.ucp.checkout":{"discounts":{"codes":"A"}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].discounts.codes", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp destination country", raw: rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"type":"shipping","destinations":[` +
			`{"id":"d","street_address":"1","address_locality":"x","postal_code":"1","address_country":"United States"}]}]}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].fulfillment.methods[0].destinations[0].address_country", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp destination without a country", raw: rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"type":"shipping","destinations":[` +
			`{"id":"d","street_address":"1 Oak","address_locality":"Austin","postal_code":"73301"}]}]}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].fulfillment.methods[0].destinations[0].address_country", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp destination postal code a number", raw: rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"type":"shipping","destinations":[` +
			`{"id":"d","postal_code":62704,"address_country":"US"}]}]}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].fulfillment.methods[0].destinations[0].postal_code", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp unknown destination", raw: rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"selected_destination_id":"z","destinations":[{"id":"d","street_address":"1 Oak","address_locality":"Austin","postal_code":"73301","address_country":"US"}]}]}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].fulfillment.methods[0].selected_destination_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp too many destinations", raw: rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"destinations":[` + strings.Repeat(`{},`, 10) + `{}]}]}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].fulfillment.methods[0].destinations", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp too many discount codes", raw: rpc(`{"a2a.ucp.checkout":{"discounts":{"codes":[` + strings.Repeat(`"A",`, 20) + `"A"]}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].discounts.codes", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "consent not a boolean", raw: rpc(`{"a2a.ucp.checkout":{"buyer":{"consent":{"marketing":"yes"}}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].buyer.consent.marketing", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "card number not digits", raw: rpc(`{"a2a.ucp.checkout.payment":{"instruments":[{"handler_id":"h","credential":{"type":"card","card_number_type":"fpan","number":"4242-4242-4242"}}]}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout.payment'].instruments[0].credential.number", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "card expiry month", raw: rpc(`{"a2a.ucp.checkout.payment":{"instruments":[{"handler_id":"h","credential":{"type":"card","card_number_type":"fpan","number":"4242424242424242","expiry_month":13}}]}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout.payment'].instruments[0].credential.expiry_month", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "card number type", raw: rpc(`{"a2a.ucp.checkout.payment":{"instruments":[{"handler_id":"h","credential":{"type":"card","card_number_type":"pan","number":"4242424242424242"}}]}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout.payment'].instruments[0].credential.card_number_type", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "binding without checkout", raw: rpc(`{"a2a.ucp.checkout.payment":{"instruments":[{"handler_id":"h","credential":{"type":"token","token":"t","binding":{}}}]}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout.payment'].instruments[0].credential.binding.checkout_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp selected option a number", raw: rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"groups":[{"selected_option_id":1}]}]}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].fulfillment.methods[0].groups[0].selected_option_id", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp methods an object", raw: rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":{}}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].fulfillment.methods", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp payment token", raw: rpc(`{"a2a.ucp.checkout.payment":{"instruments":[{"handler_id":"mock","credential":{}}]}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout.payment'].instruments[0].credential.token", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp destination a string", raw: rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"type":"shipping"},{"destinations":[{"id":"d"},"x"]}]}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].fulfillment.methods[1].destinations[1]", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp item a string", raw: rpc(`{"a2a.ucp.checkout":{"line_items":[{"item":{"id":"a"},"quantity":1},{"item":"b","quantity":1}]}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].line_items[1].item", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp buyer a list", raw: rpc(`{"a2a.ucp.checkout":{"BUYER":[]}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].buyer", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp groups an object", raw: rpc(`{"a2a.ucp.checkout":{"fulfillment":{"methods":[{"groups":{}}]}}}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout'].fulfillment.methods[0].groups", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "credential a string", raw: pay(`{"handler_id":"mock","credential":"tok_visa"}`),
			code: commerce.CodeInvalidParams, path: D + ".payment.instruments[0].credential", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "instruments an object", raw: rpc(`{"action":"complete_checkout","payment":{"instruments":{}}}`),
			code: commerce.CodeInvalidParams, path: D + ".payment.instruments", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "create line item a number", raw: rpc(`{"action":"create_checkout","line_items":[{"item":{"id":"a"},"quantity":1},7]}`),
			code: commerce.CodeInvalidParams, path: D + ".line_items[1]", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ap2 a string", raw: rpc(`{"action":"complete_checkout","payment":{"instruments":[{"handler_id":"mock","credential":{"token":"t"}}]},"ap2":"jwt"}`),
			code: commerce.CodeInvalidParams, path: D + ".ap2", messageID: "msg-01J9Z", id: `"req-7"`},
		{name: "ucp payment a list", raw: rpc(`{"a2a.ucp.checkout.payment":[]}`),
			code: commerce.CodeInvalidParams, path: D + "['a2a.ucp.checkout.payment']", messageID: "msg-01J9Z", id: `"req-7"`},

		// Paths of a bare message start at $.
		{name: "bare quantity", raw: msg(`{"action":"add_item","item_id":"sku_tee","quantity":0}`),
			code: commerce.CodeInvalidParams, path: "$.parts[0].data.quantity", messageID: "msg-01J9Z"},
		{name: "bare role", raw: `{"kind":"message","role":"agent","messageId":"msg-01J9Z","parts":[]}`,
			code: commerce.CodeInvalidParams, path: "$.role", messageID: "msg-01J9Z"},
		{name: "bare second part kind", raw: `{"type":"message","role":"user","messageId":"msg-01J9Z","parts":[{"type":"data","data":{}},{"type":"video"}]}`,
			code: commerce.CodeInvalidParams, path: "$.parts[1].kind", messageID: "msg-01J9Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Parse([]byte(tt.raw), testTenant, testContext, tt.lim)
			if err == nil {
				t.Fatalf("Parse succeeded: %#v", req.Command)
			}
			var e *commerce.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *commerce.Error", err, err)
			}
			if e.Code != tt.code || e.Path != tt.path {
				t.Errorf("error = %s at %q (%s), want %s at %q", e.Code, e.Path, e.Message, tt.code, tt.path)
			}
			if want := wantKind(tt.code); e.Kind != want {
				t.Errorf("kind = %v, want %v", e.Kind, want)
			}
			if req == nil {
				t.Fatal("no request returned with the error")
			}
			if req.Command != nil {
				t.Errorf("command %#v returned with an error", req.Command)
			}
			if req.MessageID != tt.messageID || string(req.ID) != tt.id {
				t.Errorf("request messageId %q id %s, want %q %s", req.MessageID, req.ID, tt.messageID, tt.id)
			}
			if (req.MessageID != "") != (req.Fingerprint != [32]byte{}) {
				t.Errorf("fingerprint %x with messageId %q", req.Fingerprint, req.MessageID)
			}
			if req.ContextID != testContext {
				t.Errorf("context = %q", req.ContextID)
			}
		})
	}
}

func wantKind(code string) commerce.Kind {
	switch code {
	case commerce.CodeParseError, commerce.CodeInvalidEnvelope, commerce.CodeEnvelopeTooLarge:
		return commerce.KindMalformed
	}
	return commerce.KindInvalid
}
func ptr[T any](v T) *T { return &v }
