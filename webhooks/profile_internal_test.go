package webhooks

import (
	"errors"
	"testing"
)

// TestParseWebhookURL reads the order webhook_url from both shapes UCP has given a
// profile's capabilities, and reports a profile without one.
func TestParseWebhookURL(t *testing.T) {
	for _, c := range []struct {
		name, body, want string
		err              error
	}{
		{"2026-04-08, keyed by name", `{"ucp":{"capabilities":{"dev.ucp.shopping.checkout":[{"version":"2026-04-08"}],
			"dev.ucp.shopping.order":[{"version":"2026-04-08","config":{"webhook_url":"http://127.0.0.1:1/a"}}]}}}`, "http://127.0.0.1:1/a", nil},
		{"2026-01-11, a list", `{"ucp":{"capabilities":[{"name":"dev.ucp.shopping.checkout"},
			{"name":"dev.ucp.shopping.order","version":"2026-01-11","config":{"webhook_url":"http://localhost:8284/b"}}]}}`, "http://localhost:8284/b", nil},
		{"no order capability", `{"ucp":{"capabilities":{"dev.ucp.shopping.checkout":[{"version":"2026-04-08"}]}}}`, "", errNoWebhook},
		{"no config", `{"ucp":{"capabilities":[{"name":"dev.ucp.shopping.order"}]}}`, "", errNoWebhook},
	} {
		got, err := parseWebhookURL([]byte(c.body))
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("%s: %q, %v; want %q, %v", c.name, got, err, c.want, c.err)
		}
	}
	if _, err := parseWebhookURL([]byte(`not json`)); err == nil || errors.Is(err, errNoWebhook) {
		t.Errorf("not JSON: %v, want a parse error", err)
	}
}

// TestPolicy: which URLs each allow-list takes, and which addresses its dialer connects to.
func TestPolicy(t *testing.T) {
	for _, c := range []struct {
		allow []string
		url   string
		ok    bool
	}{
		{nil, "http://127.0.0.1:8080/p", true},
		{nil, "http://localhost/p", true},
		{nil, "https://[::1]/p", true},
		{nil, "http://10.0.0.1/p", false},
		{nil, "https://platform.example/p", false},
		{nil, "ftp://127.0.0.1/p", false},
		{nil, "http://u:p@127.0.0.1/p", false},
		{[]string{"platform.example"}, "https://platform.example:8443/p", true},
		{[]string{"platform.example"}, "https://other.example/p", false},
		{[]string{"platform.example"}, "http://127.0.0.1/p", false},
		{[]string{"*"}, "https://any.example/p", true},
		{[]string{"*"}, "http://169.254.169.254/latest", false},
		{[]string{"*"}, "http://192.168.1.1/p", false},
		{[]string{"*"}, "http://127.0.0.1/p", false},
	} {
		_, err := newPolicy(c.allow).check(c.url)
		if (err == nil) != c.ok {
			t.Errorf("allow %v, %s: %v, want ok=%v", c.allow, c.url, err, c.ok)
		}
	}
	for _, c := range []struct {
		allow []string
		addr  string
		ok    bool
	}{
		{nil, "127.0.0.1:80", true},
		{nil, "10.0.0.1:80", false},
		{[]string{"*"}, "93.184.216.34:443", true},
		{[]string{"*"}, "127.0.0.1:443", false},
		{[]string{"*"}, "169.254.169.254:80", false},
		{[]string{"*"}, "[fd00::1]:443", false},
	} {
		err := newPolicy(c.allow).dialControl("tcp", c.addr, nil)
		if (err == nil) != c.ok {
			t.Errorf("allow %v, dial %s: %v, want ok=%v", c.allow, c.addr, err, c.ok)
		}
	}
}
