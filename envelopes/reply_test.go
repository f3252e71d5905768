package envelopes

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, got)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n got:\n%s\nwant:\n%s", name, pretty.Bytes(), want)
	}
}

func TestGolden(t *testing.T) {
	checkout := ResultBody("msg-01J9Z", testContext, sampleCheckout(), nil)
	order := ResultBody("msg-01JA0", testContext, nil, sampleOrder())
	errBody := ErrorBody(&commerce.Error{Kind: commerce.KindInvalid, Code: commerce.CodeInvalidParams,
		Message: "quantity must be between 1 and 999", Path: "$.params.message.parts[0].data.quantity",
		Err: errors.New("secret cause")}, "msg-01J9Z")

	golden(t, "result_checkout.json", Wrap(json.RawMessage(`"req-7"`), checkout, false))
	golden(t, "result_order.json", Wrap(json.RawMessage(`7`), order, false))
	golden(t, "error_invalid_params.json", Wrap(json.RawMessage(`"req-7"`), errBody, true))
	golden(t, "error_bare_parse.json", Wrap(nil, ErrorBody(commerce.E(commerce.KindMalformed, commerce.CodeParseError, "envelope is not valid JSON"), ""), true))
	golden(t, "event_payment_captured.json", EncodeEvent(EventMeta{ID: "evt_1", Tenant: testTenant, Context: testContext,
		MessageID: "msg-01JA1", OccurredAt: time.Date(2026, 4, 8, 12, 1, 0, 500, time.UTC)},
		commerce.Event{Type: commerce.EvtPaymentCaptured, Order: sampleOrder(), Amount: 9743}))

	if bytes.Contains(errBody, []byte("secret")) {
		t.Error("the cause of an error went on the wire")
	}
}

func TestWrap(t *testing.T) {
	body := []byte(`{"x":1}`)
	for _, tt := range []struct {
		id      string
		isError bool
		want    string
	}{
		{`"a"`, false, `{"jsonrpc":"2.0","id":"a","result":{"x":1}}`},
		{`12`, true, `{"jsonrpc":"2.0","id":12,"error":{"x":1}}`},
		{``, false, `{"jsonrpc":"2.0","id":null,"result":{"x":1}}`},
		{`{bad`, false, `{"jsonrpc":"2.0","id":null,"result":{"x":1}}`},
	} {
		if got := string(Wrap(json.RawMessage(tt.id), body, tt.isError)); got != tt.want {
			t.Errorf("Wrap(%s) = %s, want %s", tt.id, got, tt.want)
		}
	}
	if got := string(Wrap(nil, nil, true)); got != `{"jsonrpc":"2.0","id":null,"error":null}` {
		t.Errorf("Wrap with no body = %s", got)
	}
}

func TestErrorBody(t *testing.T) {
	tests := []struct {
		e    *commerce.Error
		want string
	}{
		{commerce.Invalid("$.x", "x is required"), `{"code":-32602,"message":"x is required","data":{"code":"invalid_params","path":"$.x","messageId":"m"}}`},
		{commerce.ErrNotFound, `{"code":-32011,"message":"not_found","data":{"code":"not_found","messageId":"m"}}`},
		{commerce.AsError(errors.New("boom: password=hunter2")), `{"code":-32603,"message":"internal error","data":{"code":"internal_error","messageId":"m"}}`},
		{nil, `{"code":-32603,"message":"internal error","data":{"code":"internal_error","messageId":"m"}}`},
		{&commerce.Error{Message: "?"}, `{"code":-32603,"message":"?","data":{"code":"internal_error","messageId":"m"}}`},
	}
	for _, tt := range tests {
		if got := string(ErrorBody(tt.e, "m")); got != tt.want {
			t.Errorf("ErrorBody(%v) =\n %s\nwant\n %s", tt.e, got, tt.want)
		}
	}
}

// TestRPCCode pins the table of CONTRACT.md section 7: every wire code has its JSON-RPC
// number, and a code the table does not know is an internal error.
func TestRPCCode(t *testing.T) {
	for code, want := range map[string]int{
		commerce.CodeParseError:             -32700,
		commerce.CodeInvalidEnvelope:        -32600,
		commerce.CodeEnvelopeTooLarge:       -32600,
		commerce.CodeTenantMismatch:         -32600,
		commerce.CodeContextMismatch:        -32600,
		commerce.CodeReplySubjectForbidden:  -32600,
		commerce.CodeUnknownTenant:          -32600,
		commerce.CodeUnsupportedMethod:      -32601,
		commerce.CodeUnknownAction:          -32601,
		commerce.CodeInvalidParams:          -32602,
		commerce.CodeNotFound:               -32011,
		commerce.CodeCheckoutExists:         -32010,
		commerce.CodeCheckoutImmutable:      -32010,
		commerce.CodeCheckoutExpired:        -32010,
		commerce.CodeIdempotencyConflict:    -32010,
		commerce.CodeInvalidTransition:      -32010,
		commerce.CodeMandateRequired:        -32020,
		commerce.CodeMandateInvalidSig:      -32020,
		commerce.CodeMandateExpired:         -32020,
		commerce.CodeMandateScopeMismatch:   -32020,
		commerce.CodeTemporarilyUnavailable: -32030,
		commerce.CodeInternalError:          -32603,
		"no_such_code":                      -32603,
		"":                                  -32603,
	} {
		if got := RPCCode(code); got != want {
			t.Errorf("RPCCode(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestDecodeReply(t *testing.T) {
	result := ResultBody("msg-1", testContext, sampleCheckout(), nil)
	errBody := ErrorBody(commerce.Invalid("$.p", "bad"), "msg-1")
	for _, b := range [][]byte{Wrap(json.RawMessage(`"r"`), result, false), result} {
		r, err := DecodeReply(b)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || r.Code() != "" || r.Order() != nil {
			t.Errorf("reply = %+v", r)
		}
		c := r.Checkout()
		if c == nil || c.ID != "chk_7f3a" || r.Result.MessageID != "msg-1:reply" || r.Result.Role != "agent" {
			t.Fatalf("checkout = %+v", c)
		}
		// What a client reads back encodes to the same bytes.
		again, _ := json.Marshal(c)
		orig, _ := EncodeCheckout(sampleCheckout())
		if !bytes.Equal(again, orig) {
			t.Errorf("decoded checkout re-encodes differently:\n%s\n%s", again, orig)
		}
	}
	for _, b := range [][]byte{Wrap(nil, errBody, true), errBody} {
		r, err := DecodeReply(b)
		if err != nil {
			t.Fatal(err)
		}
		if r.OK() || r.Code() != commerce.CodeInvalidParams || r.Error.Data.Path != "$.p" || r.Checkout() != nil {
			t.Errorf("reply = %+v", r)
		}
	}
	r, err := DecodeReply(Wrap(nil, ResultBody("m", "c", nil, sampleOrder()), false))
	if err != nil || r.Order() == nil || r.Order().Payment.Captured != 9743 {
		t.Errorf("order reply: %v %+v", err, r)
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"jsonrpc":"2.0","id":1}`, `{"jsonrpc":"2.0","result":5}`, `{"a":`} {
		if _, err := DecodeReply([]byte(bad)); err == nil {
			t.Errorf("DecodeReply(%s) succeeded", bad)
		}
	}
}

func TestEncodeEvent(t *testing.T) {
	m := EventMeta{ID: "evt_1", Tenant: "demo", Context: "ctx", MessageID: "msg", OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))}
	b := EncodeEvent(m, commerce.Event{Type: commerce.EvtCheckoutCompleted, Checkout: sampleCheckout()})
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "checkout.completed" || ev.OccurredAt != "2026-01-02T02:04:05Z" || ev.Amount != nil ||
		ev.Data.Checkout == nil || ev.Data.Order != nil || ev.ContextID != "ctx" || ev.MessageID != "msg" {
		t.Errorf("event = %s", b)
	}
	b = EncodeEvent(m, commerce.Event{Type: commerce.EvtPaymentVoided, Order: sampleOrder()})
	if !strings.Contains(string(b), `"amount":0`) {
		t.Errorf("payment event without amount: %s", b)
	}
}
