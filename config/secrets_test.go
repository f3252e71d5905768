package config_test

import (
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
)

// TestNATSSecretsNotInFile: a token or a password in the file is refused, saying where it
// goes instead, and never echoed; the file paths of credentials are fine.
func TestNATSSecretsNotInFile(t *testing.T) {
	for key, want := range map[string]string{
		"token":    "NATS_TOKEN",
		"password": "NATS_PASSWORD",
	} {
		_, err := config.Parse([]byte("nats:\n  url: nats://nats-1:4222\n  " + key + ": hunter2-hunter2\n"))
		if err == nil {
			t.Fatalf("nats.%s in the file was accepted", key)
		}
		for _, s := range []string{"nats." + key, want, "--" + key + "-file"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("nats.%s: error %q does not name %q", key, err, s)
			}
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("nats.%s: the secret is in the error: %q", key, err)
		}
	}
	_, err := config.Parse([]byte("nats:\n  url: nats://worker:hunter2-hunter2@nats-1:4222\n"))
	if err == nil || !strings.Contains(err.Error(), "nats.url") || !strings.Contains(err.Error(), "CARTWRIGHT_NATS_URL") ||
		strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a password in nats.url: %v", err)
	}
	c, err := config.Parse([]byte("nats:\n  url: nats://nats-1:4222\n  creds: /etc/cartwright/worker.creds\n  user: worker\n"))
	if err != nil || c.NATS.Creds != "/etc/cartwright/worker.creds" || c.NATS.User != "worker" {
		t.Fatalf("creds and user: %+v, %v", c, err)
	}
}

// TestLimitsKeys: the limits section takes the keys docs/agents.md names, and still
// refuses unknown ones.
func TestLimitsKeys(t *testing.T) {
	c, err := config.Parse([]byte(`limits:
  max_envelope_bytes: 2048
  max_parts: 4
  max_line_items: 10
  max_quantity: 5
  max_string_bytes: 100
`))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	l := c.Limits
	if l.MaxEnvelopeBytes != 2048 || l.MaxParts != 4 || l.MaxLineItems != 10 || l.MaxQuantity != 5 || l.MaxStringBytes != 100 {
		t.Fatalf("limits %+v", l)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse([]byte("limits:\n  max_envelope_byte: 2048\n")); err == nil {
		t.Fatal("a misspelt limit was accepted")
	}
}
