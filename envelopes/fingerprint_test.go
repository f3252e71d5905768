package envelopes

import (
	"strings"
	"testing"
)

func TestFingerprint(t *testing.T) {
	data := `{"action":"add_item","item_id":"sku_tee","quantity":2}`
	base := rpc(data)
	fp := func(raw string) [32]byte {
		t.Helper()
		req, err := Parse([]byte(raw), testTenant, testContext, Limits{})
		if err != nil {
			t.Fatalf("Parse(%s): %v", raw, err)
		}
		return req.Fingerprint
	}
	want := fp(base)

	same := map[string]string{
		"another JSON-RPC id": strings.Replace(base, `"req-7"`, `"req-8"`, 1),
		"numeric JSON-RPC id": strings.Replace(base, `"req-7"`, `99`, 1),
		"bare":                msg(data),
		"key order": `{"params":{"message":{"parts":[{"data":{"quantity":2,"item_id":"sku_tee","action":"add_item"},"kind":"data"}],` +
			`"contextId":"ctx-42","messageId":"msg-01J9Z","role":"user","kind":"message"}},"method":"message/send","id":"x","jsonrpc":"2.0"}`,
		"white space": strings.NewReplacer(`,`, ", ", `:`, " :\n\t", `{`, "{ ").Replace(base),
		"escapes":     strings.Replace(base, `"sku_tee"`, `"sku_t\u0065e"`, 1),
		"escaped key": strings.Replace(base, `"item_id"`, `"item\u005fid"`, 1),
		"contextId absent": `{"jsonrpc":"2.0","id":"req-7","method":"message/send","params":{"message":` +
			`{"kind":"message","role":"user","messageId":"msg-01J9Z","parts":[{"kind":"data","data":` + data + `}]}}}`,
		"contextId null": strings.Replace(base, `"contextId":"ctx-42"`, `"contextId":null`, 1),
	}
	for name, raw := range same {
		if got := fp(raw); got != want {
			t.Errorf("%s: fingerprint differs", name)
		}
	}

	different := map[string]string{
		"quantity":          strings.Replace(base, `"quantity":2`, `"quantity":3`, 1),
		"item":              strings.Replace(base, `"sku_tee"`, `"sku_mug"`, 1),
		"extra field":       strings.Replace(base, `"role":"user"`, `"role":"user","note":"x"`, 1),
		"extra text part":   strings.Replace(base, `"parts":[`, `"parts":[{"kind":"text","text":"hi"},`, 1),
		"string vs number":  strings.Replace(base, `"quantity":2`, `"quantity":"2"`, 1),
		"number as written": strings.Replace(base, `"quantity":2`, `"quantity":2.0`, 1),
		"escaped quote":     strings.Replace(base, `"sku_tee"`, `"sku_tee\""`, 1),
		// Refused (keys_test.go); their canonical forms are the base's, or would be read so.
		"repeated key": strings.Replace(base, `"quantity":2`, `"quantity":7,"quantity":2`, 1),
		"case variant": strings.Replace(base, `"quantity":2`, `"Quantity":7,"quantity":2`, 1),
	}
	seen := map[[32]byte]string{want: "base"}
	for name, raw := range different {
		req, _ := Parse([]byte(raw), testTenant, testContext, Limits{})
		if req.Fingerprint == ([32]byte{}) {
			t.Errorf("%s: no fingerprint", name)
		}
		if other, ok := seen[req.Fingerprint]; ok {
			t.Errorf("%s: fingerprint equals that of %s", name, other)
		}
		seen[req.Fingerprint] = name
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{}`, `{"contextId":"c"}`},
		{` { "b" : [ 1 , 2.50 , -3e2 ] , "a" : { "z" : null , "y" : true , "x" : false } } `,
			`{"a":{"x":false,"y":true,"z":null},"b":[1,2.50,-3e2],"contextId":"c"}`},
		{`{"contextId":"other","k":[]}`, `{"contextId":"other","k":[]}`},
		{`{"s":"a\"b\\c\/d\u00e9\n\u0001","o":{"b":1,"b":2,"a":{}}}`, `{"contextId":"c","o":{"a":{},"b":2},"s":"a\"b\\c/dé\u000a\u0001"}`},
		{`{"n":{"contextId":null}}`, `{"contextId":"c","n":{"contextId":null}}`},
	}
	for _, tt := range tests {
		c := new(canonicalizer)
		c.in, c.ctx = []byte(tt.in), "c"
		if !c.value(0) {
			t.Errorf("canonical(%s) failed", tt.in)
			continue
		}
		if string(c.out) != tt.want {
			t.Errorf("canonical(%s)\n got %s\nwant %s", tt.in, c.out, tt.want)
		}
	}
}
