package testenv

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"

	"github.com/cartwright-dev/cartwright/envelopes"
)

// The HTTP face of the worker (package httpapi), as tests of the bridge and of the binary
// reach it: one copy of posting JSON-RPC and reading JSON.

// StartServeHTTP runs `cartwright serve` with args on a NATS of its own, its HTTP listener on a
// free loopback port, and returns the listener's base URL ("http://127.0.0.1:<port>").
func StartServeHTTP(t testing.TB, args ...string) string {
	t.Helper()
	addr := FreeAddr(t)
	ns := StartTestNATS(t)
	StartServe(t, slices.Concat([]string{"--nats-url", ns.URL(), "--data", t.TempDir(),
		"--http-listen", addr, "--partitions", "2"}, args)...)
	return "http://" + addr
}

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// RPCReply is a JSON-RPC response as the bridge answers it.
type RPCReply struct {
	ID     json.RawMessage         `json:"id"`
	Result *envelopes.AgentMessage `json:"result"`
	Error  *envelopes.RPCError     `json:"error"`
}

// Code is the error's code (CONTRACT.md section 7), "" for a success.
func (r RPCReply) Code() string {
	if r.Error == nil || r.Error.Data == nil {
		return ""
	}
	return r.Error.Data.Code
}

// HTTPReply is an HTTP answer to a JSON-RPC request; RPCReply is decoded when the status
// is 200 (the bridge's answer to every request it takes as JSON-RPC).
type HTTPReply struct {
	Status int
	Header http.Header
	Raw    string
	RPCReply
}

// PostRaw posts body to url with exactly the headers given: a "Host" entry sets the
// request's Host, and no Content-Type is sent unless hdr has one. A body that is not a
// *bytes.Reader, *bytes.Buffer or *strings.Reader goes chunked, without a Content-Length.
func PostRaw(t testing.TB, url string, body io.Reader, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// PostRPC posts a JSON-RPC request to url as application/json (hdr may add headers or
// replace that one). A 200 answer must be JSON-RPC sent as application/json, or the test
// fails.
func PostRPC(t testing.TB, url string, body io.Reader, hdr map[string]string) HTTPReply {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range hdr {
		h[k] = v
	}
	var r HTTPReply
	r.Status, r.Header, r.Raw = PostRaw(t, url, body, h)
	if r.Status == http.StatusOK {
		if err := json.Unmarshal([]byte(r.Raw), &r.RPCReply); err != nil {
			t.Fatalf("reply %s: %v", r.Raw, err)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("POST %s: Content-Type %q", url, ct)
		}
	}
	return r
}

// Get fetches url and returns the status and the body.
func Get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// GetJSON fetches url, which must answer 200 with application/json, and decodes it.
func GetJSON[T any](t testing.TB, url string) *T {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %s %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, b)
	}
	return v
}
