package envelopes

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

const (
	knownToken   = "tok_S3CRET_4242424242"
	knownMandate = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl"
)

func secretPayment() string {
	return `{"instruments":[{"id":"in_1","handler_id":"mock","type":"card","selected":true,` +
		`"credential":{"type":"token","token":"` + knownToken + `"}}]}`
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // "" when nothing is to change
		path     string // RedactedPath of the result
	}{
		{
			name: "action form",
			in:   rpc(`{"action":"complete_checkout","payment":` + secretPayment() + `,"ap2":{"checkout_mandate":"` + knownMandate + `"}}`),
			want: rpc(`{"action":"complete_checkout","payment":{"instruments":[{"id":"in_1","handler_id":"mock","type":"card","selected":true,` +
				`"credential":{"type":"[redacted]","token":"[redacted]"}}]},"ap2":{"checkout_mandate":"[redacted]"}}`),
			path: "$.params.message.parts[0].data.payment.instruments[0].credential",
		},
		{
			name: "UCP form, keys in another case and escaped",
			in:   msg(`{"a2a.ucp.checkout.payment":{"instruments":[{"handler_id":"mock","Credential":{"t\u006fken":"` + knownToken + `"}}]}}`),
			want: msg(`{"a2a.ucp.checkout.payment":{"instruments":[{"handler_id":"mock","Credential":{"t\u006fken":"[redacted]"}}]}}`),
			path: "$.parts[0].data['a2a.ucp.checkout.payment'].instruments[0].Credential",
		},
		{
			name: "a token straight in an instrument; a credential that is a string",
			in:   `{"payment":{"instruments":[{"token":"` + knownToken + `"},{"credential":"` + knownToken + `"}]}}`,
			want: `{"payment":{"instruments":[{"token":"[redacted]"},{"credential":"[redacted]"}]}}`,
			path: "$.payment.instruments[0].token",
		},
		{
			name: "white space and order kept; a token elsewhere is not a credential",
			in:   "{ \"meta\" : {\"token\": \"page-2\"},\n  \"ap2\" : { \"checkout_mandate\" : \"" + knownMandate + "\" } }",
			want: "{ \"meta\" : {\"token\": \"page-2\"},\n  \"ap2\" : { \"checkout_mandate\" : \"[redacted]\" } }",
			path: "$.ap2.checkout_mandate",
		},
		{
			name: "nothing to hide",
			in:   rpc(`{"action":"add_item","item_id":"sku_tee","quantity":2,"credential":null}`),
			path: "$",
		},
		{
			name: "not JSON: the value after a name and a colon",
			in:   `{"payment":{"instruments":[{"credential":{"type":"token","token":"` + knownToken + `"}}]},,,`,
			want: `{"payment":{"instruments":[{"credential":"[redacted]"}]},,,`,
			path: "$",
		},
		{
			name: "not JSON: a value that does not end is cut where it starts",
			in:   `{"x":1,"token": "` + knownToken,
			want: `{"x":1,"token": "[redacted]"`,
			path: "$",
		},
		{
			name: "not JSON: a bare JWT",
			in:   `garbage ` + knownMandate + ` more`,
			want: `garbage "[redacted]" more`,
			path: "$",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			got, redacted := Redact(in)
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if string(got) != want || redacted != (tc.want != "") {
				t.Errorf("Redact:\n got %s (%v)\nwant %s (%v)", got, redacted, want, tc.want != "")
			}
			if string(in) != tc.in {
				t.Error("Redact changed its input")
			}
			if p := RedactedPath(got); p != tc.path {
				t.Errorf("RedactedPath = %q, want %q", p, tc.path)
			}
		})
	}
}

// A redacted complete_checkout still parses, with the marker where the credential was, so
// that its replay can be answered.
func TestRedactedRequestParses(t *testing.T) {
	raw, _ := Redact([]byte(rpc(`{"action":"complete_checkout","payment":` + secretPayment() + `}`)))
	req, err := Parse(raw, testTenant, testContext, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	c, ok := req.Command.(commerce.CompleteCheckout)
	if !ok || len(c.Instruments) != 1 || c.Instruments[0].Credential.Token != RedactionMarker {
		t.Errorf("redacted %s parses as %+v", raw, req.Command)
	}
}

// FuzzRedact: whatever surrounds a credential, or wherever the bytes are cut, Redact
// does not panic and never lets the known token or mandate through.
func FuzzRedact(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"messageId":"m","parts":[{"kind":"data","data":`), []byte(`}]}}}`), uint16(0))
	f.Add([]byte(`[`), []byte(`]`), uint16(0))
	f.Add([]byte(`{"a":"`), []byte(`"}`), uint16(40))
	f.Add([]byte(`not json {`), []byte(``), uint16(90))
	f.Add([]byte(`{"token":`), []byte(`,"credential":{`), uint16(0))
	f.Add([]byte(`"\`), []byte(`\"`), uint16(120))
	f.Fuzz(func(t *testing.T, before, after []byte, cut uint16) {
		body := `{"action":"complete_checkout","payment":` + secretPayment() + `,"ap2":{"checkout_mandate":"` + knownMandate + `"}}`
		in := append(append(append([]byte{}, before...), body...), after...)
		if c := int(cut); c > len(before)+len(body)-len(`"}}`) && c < len(in) {
			in = in[:c] // cut after the secrets, so that they are whole in the input
		}
		got, _ := Redact(in)
		for _, secret := range []string{knownToken, knownMandate} {
			if bytes.Contains(got, []byte(secret)) && !bytes.Contains(before, []byte(secret)) && !bytes.Contains(after, []byte(secret)) {
				t.Fatalf("%s survived in %q", secret, got)
			}
		}
		if json.Valid(in) && !json.Valid(got) {
			t.Fatalf("redacting JSON made it invalid: %q → %q", in, got)
		}
		if p := RedactedPath(got); !strings.HasPrefix(p, "$") {
			t.Fatalf("RedactedPath = %q", p)
		}
	})
}
