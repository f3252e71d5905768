package envelopes

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

// The parser is held to the frozen copy of the encoding/json parser (oldparse_test.go):
// every Parse that the package's tests make is checked against it (TestMain reports any
// difference), and so are the corpora below and FuzzParseSame.

var (
	sameMu     sync.Mutex
	sameFailed []string
	sameCount  atomic.Int64
)

func init() {
	checkParse = func(raw []byte, tenant, contextID string, lim Limits, req *Request, err error) {
		sameCount.Add(1)
		if diff := diffParse(raw, tenant, contextID, lim, req, err); diff != "" {
			sameMu.Lock()
			sameFailed = append(sameFailed, diff)
			sameMu.Unlock()
		}
	}
}

// unchecked turns the check of every Parse off for the benchmark b, which is to measure
// Parse alone.
func unchecked(b *testing.B) {
	saved := checkParse
	checkParse = nil
	b.Cleanup(func() { checkParse = saved })
}

func TestMain(m *testing.M) {
	code := m.Run()
	sameMu.Lock()
	defer sameMu.Unlock()
	if testing.Verbose() {
		fmt.Printf("%d calls of Parse checked against the encoding/json parser\n", sameCount.Load())
	}
	if len(sameFailed) > 0 {
		fmt.Fprintf(os.Stderr, "Parse differs from the encoding/json parser on %d of %d calls:\n", len(sameFailed), sameCount.Load())
		for i, d := range sameFailed {
			if i == 20 {
				fmt.Fprintf(os.Stderr, "… and %d more\n", len(sameFailed)-i)
				break
			}
			fmt.Fprintln(os.Stderr, d)
		}
		code = 1
	}
	os.Exit(code)
}

// diffParse returns "" when req and err, what Parse returned for raw, are what the
// encoding/json parser returns, else a description of the difference.
func diffParse(raw []byte, tenant, contextID string, lim Limits, req *Request, err error) string {
	in := append([]byte(nil), raw...)
	oldReq, oldErr := oldParse(in, tenant, contextID, lim)
	if !bytes.Equal(in, raw) {
		return fmt.Sprintf("input changed:\n%q", raw)
	}
	if !reflect.DeepEqual(req, oldReq) {
		return fmt.Sprintf("request differs for\n%q\n  got  %#v\n  want %#v", raw, req, oldReq)
	}
	if (req.ID == nil) != (oldReq.ID == nil) {
		return fmt.Sprintf("ID nil-ness differs for\n%q", raw)
	}
	if !sameError(err, oldErr) {
		return fmt.Sprintf("error differs for\n%q\n  got  %#v\n  want %#v", raw, err, oldErr)
	}
	return ""
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ea, oka := a.(*commerce.Error)
	eb, okb := b.(*commerce.Error)
	if !oka || !okb {
		return oka == okb && a.Error() == b.Error()
	}
	return reflect.DeepEqual(*ea, *eb)
}

// diffDecode compares Decode with the encoding/json Decode: the envelope, field by
// field, and the error.
func diffDecode(raw []byte, lim Limits) string {
	env, err := Decode(raw, lim)
	oldEnv, oldErr := oldDecode(raw, lim)
	if !reflect.DeepEqual(env, oldEnv) {
		return fmt.Sprintf("Decode differs for\n%q\n  got  %#v\n  want %#v", raw, env, oldEnv)
	}
	if env != nil && oldEnv != nil && (env.ID == nil) != (oldEnv.ID == nil) {
		return fmt.Sprintf("Decode ID nil-ness differs for\n%q", raw)
	}
	if !sameError(err, oldErr) {
		return fmt.Sprintf("Decode error differs for\n%q\n  got  %#v\n  want %#v", raw, err, oldErr)
	}
	return ""
}

// sameLimits are the limits the differential tests parse with: the defaults, and small
// ones that each input can run into.
var sameLimits = []Limits{{}, {MaxEnvelopeBytes: 8 << 10, MaxParts: 2, MaxLineItems: 2, MaxQuantity: 99, MaxStringBytes: 8}}

func checkSame(t *testing.T, name string, raw []byte) {
	t.Helper()
	for _, lim := range sameLimits {
		for _, sub := range [][2]string{{testTenant, testContext}, {"other", "ctx"}} {
			req, err := Parse(raw, sub[0], sub[1], lim)
			if diff := diffParse(raw, sub[0], sub[1], lim, req, err); diff != "" {
				t.Errorf("%s: %s", name, diff)
			}
		}
		if diff := diffDecode(raw, lim); diff != "" {
			t.Errorf("%s: %s", name, diff)
		}
	}
}

// sameCorpus returns every envelope of the package's seeds, fuzz corpora (FuzzRedact's
// inputs are envelopes too) and test data, and the JSON lines of the handlers' golden files.
func sameCorpus(t *testing.T) map[string][]byte {
	corpus := map[string][]byte{}
	for i, s := range fuzzSeeds() {
		corpus["seed "+strconv.Itoa(i)] = []byte(s)
	}
	files, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range fuzzFileValues(t, name, b) {
			corpus[name+"#"+strconv.Itoa(i)] = v
		}
	}
	jsonFiles, _ := filepath.Glob("testdata/*.json")
	for _, name := range jsonFiles {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		corpus[name] = b
	}
	for _, name := range []string{"../handlers/testdata/golden_replies.txt", "../handlers/testdata/replies.golden"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 && line[0] == '{' {
				corpus[name+":"+strconv.Itoa(n)] = append([]byte(nil), line...)
			}
		}
		f.Close()
	}
	return corpus
}

// fuzzFileValues returns the []byte and string values of a file of the fuzz corpus.
func fuzzFileValues(t *testing.T, name string, b []byte) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		var lit string
		switch {
		case strings.HasPrefix(line, "[]byte(") && strings.HasSuffix(line, ")"):
			lit = line[len("[]byte(") : len(line)-1]
		case strings.HasPrefix(line, "string(") && strings.HasSuffix(line, ")"):
			lit = line[len("string(") : len(line)-1]
		default:
			continue
		}
		s, err := strconv.Unquote(lit)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

// TestParseSameCorpus runs every stored envelope, and variations of each, through both
// parsers.
func TestParseSameCorpus(t *testing.T) {
	corpus := sameCorpus(t)
	if len(corpus) < 50 {
		t.Fatalf("only %d envelopes in the corpus", len(corpus))
	}
	inputs, fast := 0, 0
	check := func(name string, raw []byte) {
		checkSame(t, name, raw)
		var env Envelope
		inputs++
		if env.decodeFast(raw, DefaultLimits(), testContext) {
			fast++
		}
	}
	for name, raw := range corpus {
		check(name, raw)
		for i, v := range variations(raw) {
			check(name+" variation "+strconv.Itoa(i), v)
		}
	}
	// Both ways of reading are held to the reference, the scanner's above all.
	t.Logf("%d inputs, %d read by the scanner", inputs, fast)
	if fast < 500 || fast == inputs {
		t.Errorf("the scanner read %d of %d inputs", fast, inputs)
	}
}

// variations returns raw re-spaced, cut short, with a byte changed, wrapped, unwrapped:
// inputs near the valid ones, where a hand-written scanner is most likely to go wrong.
func variations(raw []byte) [][]byte {
	var out [][]byte
	out = append(out, []byte(strings.NewReplacer(",", " ,\n", ":", "\t:\r", "{", "{ ", "}", " }", "[", "[ ", "]", " ]").Replace(string(raw))))
	out = append(out, append(append([]byte(" \n"), raw...), " \t"...))
	out = append(out, append(append([]byte(nil), raw...), " x"...))
	out = append(out, append([]byte("["), raw...), append([]byte("x"), raw...))
	if len(raw) > 1 {
		out = append(out, raw[1:])
	}
	for _, n := range []int{1, len(raw) / 3, len(raw) / 2, len(raw) - 1} {
		if n >= 0 && n < len(raw) {
			out = append(out, raw[:n])
		}
	}
	for _, r := range [][2]string{
		{`"kind"`, `"Kind"`}, {`"kind"`, `"type"`}, {`"messageId"`, `"messageid"`}, {`"messageId"`, `"messageI\u0064"`},
		{`"role"`, `"ROLE"`}, {`"parts"`, `"Parts"`}, {`"data"`, `"Data"`}, {`"data"`, `"dat\u0061"`},
		{`"params"`, `"Params"`}, {`"message"`, `"Message"`}, {`"jsonrpc"`, `"JSONRPC"`}, {`"method"`, `"meth\u006fd"`},
		{`"id"`, `"ID"`}, {`"contextId"`, `"contextid"`}, {`"action"`, `"Action"`}, {`"action"`, `"act\u0069on"`},
		{`"quantity"`, `"QUANTITY"`}, {`"user"`, `"us\u0065r"`}, {`"2.0"`, `"2\u002e0"`}, {`"ctx-42"`, `"ctx-4\u0032"`},
		{`"ctx-42"`, `null`}, {`"ctx-42"`, `42`}, {`"user"`, `null`}, {`"user"`, `7`}, {`"message"`, `null`},
		{`"message"`, `["message"]`}, {`"data"`, `{"x":1}`}, {`"demo"`, `"Demo"`}, {`"2.0"`, `2.0`},
		{`"req-7"`, `7`}, {`"req-7"`, `null`}, {`"req-7"`, `7.5`}, {`"req-7"`, `[]`}, {`"req-7"`, `"r\u0065q"`},
		{`"msg-01J9Z"`, `"msg 01"`}, {`"msg-01J9Z"`, `"msg-\u0030"`}, {`"msg-01J9Z"`, `7`},
		{`[{`, `[7,{`}, {`[{`, `{"0":{`}, {`"parts":[`, `"parts":[],"parts":[`}, {`"parts":[`, `"parts":null,"parts":[`},
		{`"kind":"data"`, `"kind":"data","kind":"data"`}, {`"kind":"message"`, `"kind":"message","Kind":"message"`},
		{`"params":{`, `"params":{"message":{},`}, {`"params":{`, `"params":7,"params":{`}, {`"params":{`, `"params":null,"params":{`},
		{`"metadata":{`, `"metadata":7,"metadata":{`}, {`"tenant"`, `"Tenant"`}, {`"tenant":"t"`, `"tenant":7`},
		{`"role":"user"`, `"role":"user","metadata":{"tenant":"demo"}`}, {`"role":"user"`, `"role":"user","metadata":null`},
		{`"role":"user"`, `"role":"user","metadata":[]`}, {`"role":"user"`, `"role":"user","metadata":{"tenant":null}`},
		{`"role":"user"`, `"role":"user","contextId":"ctx"`}, {`"role":"user"`, `"role":"\u0000"`},
		{`"sku_tee"`, `"sku\u00e9"`}, {`"sku_tee"`, "\"sku\xff\""}, {`"sku_tee"`, "\"sku\xc3\xa9\""}, {`"sku_tee"`, `"sku\ud800"`},
		{`"sku_tee"`, "\"sku\u2028\""}, {`2`, `2.0`}, {`2`, `-0`}, {`2`, `1e2`}, {`2`, `02`}, {`2`, `-`}, {`2`, `2.`},
		{`2`, `true`}, {`2`, `tru`}, {`2`, `nul`}, {`2`, `[2]`}, {`"id"`, `"id","id":null`},
		{"}}", "}}}"}, {"{", "{{"}, {`"`, `'`}, {`,`, `,,`}, {`:`, `::`},
	} {
		if bytes.Contains(raw, []byte(r[0])) {
			out = append(out, bytes.Replace(raw, []byte(r[0]), []byte(r[1]), 1))
			out = append(out, bytes.ReplaceAll(raw, []byte(r[0]), []byte(r[1])))
		}
	}
	// Unwrap the message of a JSON-RPC request; wrap a bare one.
	if i := bytes.Index(raw, []byte(`"message":{`)); i >= 0 && bytes.HasSuffix(raw, []byte("}}")) {
		out = append(out, raw[i+len(`"message":`):len(raw)-2])
	}
	if bytes.HasPrefix(raw, []byte(`{"kind"`)) || bytes.HasPrefix(raw, []byte(`{"type"`)) {
		out = append(out, []byte(rpcMsg(string(raw))))
	}
	return out
}

// FuzzParseSame compares Parse and Decode with the encoding/json parser on random inputs.
func FuzzParseSame(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	lim := Limits{MaxEnvelopeBytes: 8 << 10, MaxParts: 4, MaxLineItems: 4, MaxQuantity: 99, MaxStringBytes: 64}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := Parse(raw, testTenant, testContext, lim)
		if diff := diffParse(raw, testTenant, testContext, lim, req, err); diff != "" {
			t.Fatal(diff)
		}
		if diff := diffDecode(raw, lim); diff != "" {
			t.Fatal(diff)
		}
	})
}

// FuzzParseSameMember puts one member, "key":value, into one object of a valid envelope
// (the top level, params, the message, its metadata, a part, the data) and compares Parse
// with the encoding/json parser: most such inputs stay valid JSON and reach the scanner's
// decisions on keys, repeats and types.
func FuzzParseSameMember(f *testing.F) {
	for _, key := range []string{"kind", "Kind", "type", "messageId", "messageid", "role", "ROLE", "contextId",
		"parts", "metadata", "tenant", "data", "jsonrpc", "id", "ID", "method", "params", "message", "action",
		"quantity", "Quantity", "item_id", "a2a.ucp.checkout", "x", "ſ", "kinD"} {
		for _, value := range []string{`"message"`, `"user"`, `"data"`, `null`, `7`, `{}`, `[]`, `[{}]`, `"2.0"`, `"message/send"`, `"m-1"`, `{"tenant":"demo"}`} {
			f.Add(uint8(len(key)+len(value)), key, value)
		}
	}
	lim := Limits{MaxEnvelopeBytes: 8 << 10, MaxParts: 4, MaxLineItems: 4, MaxQuantity: 99, MaxStringBytes: 64}
	f.Fuzz(func(t *testing.T, where uint8, key, value string) {
		member := strconv.Quote(key) + ":" + value + ","
		var raw string
		switch where % 7 {
		case 0:
			raw = `{` + member + `"jsonrpc":"2.0","id":"r","method":"message/send","params":{"message":` + msg(`{"action":"get_checkout"}`) + `}}`
		case 1:
			raw = `{"jsonrpc":"2.0","id":"r","method":"message/send","params":{` + member + `"message":` + msg(`{"action":"get_checkout"}`) + `}}`
		case 2:
			raw = rpcMsg(`{` + member + `"kind":"message","role":"user","messageId":"m-1","parts":[{"kind":"data","data":{"action":"get_checkout"}}]}`)
		case 3:
			raw = rpcMsg(`{"kind":"message","role":"user","messageId":"m-1","metadata":{` + member + `"tenant":"demo"},"parts":[{"kind":"data","data":{"action":"get_checkout"}}]}`)
		case 4:
			raw = rpcMsg(`{"kind":"message","role":"user","messageId":"m-1","parts":[{` + member + `"kind":"data","data":{"action":"get_checkout"}}]}`)
		case 5:
			raw = rpc(`{` + member + `"action":"add_item","item_id":"sku_tee","quantity":2}`)
		default:
			raw = `{` + member + `"kind":"message","role":"user","messageId":"m-1","parts":[{"kind":"data","data":{"action":"get_checkout"}}]}`
		}
		req, err := Parse([]byte(raw), testTenant, testContext, lim)
		if diff := diffParse([]byte(raw), testTenant, testContext, lim, req, err); diff != "" {
			t.Fatal(diff)
		}
		if diff := diffDecode([]byte(raw), lim); diff != "" {
			t.Fatal(diff)
		}
	})
}
