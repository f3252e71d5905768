package envelopes

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// scanValue reports whether the scanner reads raw as one JSON value and nothing else.
func scanValue(raw []byte) bool {
	s := scanner{in: raw}
	_, ok := s.value(0)
	s.ws()
	return ok && s.pos == len(raw)
}

// The scanner accepts what encoding/json accepts, and only that (up to its depth).
func TestScannerValid(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, ` {"a" : [1, -0, 0.5, 1e9, 1E+2, -3.25e-7, true, false, null, "x"]} `, `"\u00e9\n\t\"\\\/\b\f\r"`,
		"\"\xff\xfe\"", `"é"`, `0`, `-1`, `[[[]]]`, `{"":{}}`, "\"\u2028\"", "\"\x7f\"",
		``, ` `, `{`, `}`, `[`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a" 1}`, `{1:2}`, `{'a':1}`,
		`01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`, `0x1`, `1.5.2`, `--1`, `tru`, `nul`, `True`, `nulll`, `NaN`,
		"\"a\x00\"", "\"a\nb\"", "\"\x1f\"", `"\x41"`, `"\u12"`, `"\u12G4"`, `"\`, `"abc`, `"\'"`, `"\U0041"`,
		`{} {}`, `{}x`, `[1] 2`, `1 2`, "{}\x00", `[1}`, `{"a":1]`,
	} {
		if got, want := scanValue([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("%q: scanner %v, encoding/json %v", in, got, want)
		}
	}
	deep := strings.Repeat("[", maxScanDepth+1) + strings.Repeat("]", maxScanDepth+1)
	if scanValue([]byte(deep)) {
		t.Errorf("the scanner reads %d nested arrays; it gives up past %d", maxScanDepth+1, maxScanDepth)
	}
	if !scanValue([]byte(deep[1 : len(deep)-1])) {
		t.Errorf("the scanner gives up on %d nested arrays", maxScanDepth)
	}
}

// FuzzScanner holds the scanner to json.Valid.
func FuzzScanner(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	f.Add([]byte(`[1,-0.5e+3,"\u00e9",true,null,{"a":[]}]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, want := scanValue(raw), json.Valid(raw)
		if got && !want {
			t.Fatalf("the scanner accepts invalid JSON %q", raw)
		}
		if want && !got && len(raw) <= maxScanDepth {
			t.Fatalf("the scanner refuses valid JSON %q", raw)
		}
	})
}

// The scanner reads the envelopes of every day, so that they are not decoded twice; and
// gives up on those it cannot read as encoding/json does.
func TestScannerFastPath(t *testing.T) {
	for _, raw := range []string{
		string(benchEnvelope), string(benchUCP), msg(`{"action":"get_checkout"}`),
		rpcMsg(`{"kind":"message","role":"user","messageId":"m","contextId":"ctx-42","metadata":{"tenant":"demo","x":1},` +
			`"parts":[{"kind":"text","text":"hi"},{"type":"data","data":{"action":"get_checkout"}}],"extra":[1,{"Kind":2}]}`),
		`{"type":"message","role":"user","messageId":"m","parts":[]}`,
		`{"messageId":"m","parts":[],"role":"agent","IDs":7}`,
		`{"jsonrpc":"2.0","id":null,"method":"message/send","params":{"message":{"messageId":"m","KIND2":1}},"kind":"x"}`,
	} {
		var env Envelope
		if !env.decodeFast([]byte(raw), DefaultLimits(), testContext) {
			t.Errorf("the scanner gives up on %s", raw)
		}
	}
	base := string(benchEnvelope)
	for _, r := range [][2]string{
		{`"messageId"`, `"messageid"`}, {`"kind":"message"`, `"kind":"message","Kind":"message"`},
		{`"role"`, `"rol\u0065"`}, {`"params":{`, `"params":{"Message":{},`}, {`"id"`, `"Id"`},
		{`"kind":"data"`, `"KIND":"data"`}, {`"kind":"data"`, `"kind":"data","kind":"data"`},
		{`"parts":[`, `"parts":null,"parts":[`}, {`"role":"user"`, `"role":"user","metadata":7`},
		{`"role":"user"`, `"role":"user","meta\u0064ata":{}`}, {`"role":"user"`, `"role":"user","metadata":{"TENANT":"t"}`},
		{`"role":"user"`, `"role":"user","contextſ":1`}, {`"2.0"`, `"2.1"`}, {`"req-7"`, `1.5`},
		{`"message/send"`, `"tasks/get"`}, {`"msg-01J9Z"`, `"m m"`}, {`"user"`, `7`}, {`[{`, `[7,{`},
		{`}}}`, `}}} x`}, {`"sku_tee"`, "\"sku\x01\""},
	} {
		raw := strings.Replace(base, r[0], r[1], 1)
		if raw == base {
			t.Fatalf("%q is not in the envelope", r[0])
		}
		var env Envelope
		if env.decodeFast([]byte(raw), DefaultLimits(), testContext) {
			t.Errorf("the scanner reads %s", raw)
		}
	}
}

// decodeData reads the data objects of every day itself, and leaves to encoding/json the
// keys it would match without regard to case.
func TestDecodeDataFastPath(t *testing.T) {
	var d inData
	raw := []byte(`{"action":"add_item","item_id":"sku_tee","quantity":2,"Note":{"x":[1]},"quantity":3}`)
	ok := scanData(raw, &d)
	if !ok || string(d.Quantity) != "3" || string(d.ItemID) != `"sku_tee"` {
		t.Fatalf("%v %s %s", ok, d.Quantity, d.ItemID)
	}
	for _, raw := range []string{`{"Action":"x"}`, ` {"action":"x"}`, `{"action":}`, `{"item_ID":"x"}`, `{"a2a.ucp.CHECKOUT":{}}`, `{"act\u0069on":"x"}`, `{"ſ":1}`} {
		var fast, slow inData
		if scanData([]byte(raw), &fast) {
			t.Errorf("%s: read by the scanner", raw)
		}
		err := decodeData([]byte(raw), &fast, "$")
		oldErr := oldDecodeObject([]byte(raw), &slow, "$", "data")
		if !reflect.DeepEqual(fast, slow) || !sameError(err, oldErr) {
			t.Errorf("%s: %+v %v, encoding/json %+v %v", raw, fast, err, slow, oldErr)
		}
	}
}

// inData.field and dataFields name every field of inData by its JSON name.
func TestDataFields(t *testing.T) {
	var d inData
	v := reflect.ValueOf(&d).Elem()
	typ := v.Type()
	if len(dataFields) != typ.NumField() {
		t.Fatalf("dataFields has %d names, inData %d fields", len(dataFields), typ.NumField())
	}
	for i := range typ.NumField() {
		name := jsonName(typ.Field(i))
		p := d.field([]byte(name))
		if p == nil || p != v.Field(i).Addr().Interface().(*json.RawMessage) {
			t.Errorf("field(%q) is not inData.%s", name, typ.Field(i).Name)
		}
		found := false
		for _, n := range dataFields {
			found = found || n == name
		}
		if !found {
			t.Errorf("%q is not in dataFields", name)
		}
	}
}

// contextField spares the copy of the subject's context only where the message names it
// as it is, neither escaped nor with bytes that are not UTF-8.
func TestContextField(t *testing.T) {
	for _, tc := range []struct{ raw, ctx string }{
		{`"ctx-42"`, "ctx-42"}, {`"ctx-42"`, "ctx"}, {`"a\n"`, `a\n`}, {`"a\u0062"`, `a\u0062`}, {`"a\u0062"`, "ab"},
		{"\"\xff\"", "\xff"}, {`""`, ""}, {`null`, "null"}, {`7`, "7"}, {`"x"`, ""},
	} {
		if got, want := contextField([]byte(tc.raw), tc.ctx), stringField([]byte(tc.raw)); got != want {
			t.Errorf("contextField(%s, %q) = %+v, want %+v", tc.raw, tc.ctx, got, want)
		}
	}
}
