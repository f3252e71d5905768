package main

import "testing"

// TestRedactURL: whatever precedes the host is a secret or may be one (a lone user is a
// token to NATS), in each URL of a list.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                            "nats://127.0.0.1:4222",
		"nats://worker:s3cret@nats-1:4222":                 "nats://worker:xxxxx@nats-1:4222",
		"nats://s3cret-token@nats-1:4222":                  "nats://xxxxx@nats-1:4222",
		"nats://a:s3cret@n1:4222, nats://a:s3cret@n2:4222": "nats://a:xxxxx@n1:4222,nats://a:xxxxx@n2:4222",
		"tls://w:s3cret@[::1]:4222":                        "tls://w:xxxxx@[::1]:4222",
		"nats://w:s3%cret@n1:4222":                         "xxxxx@n1:4222",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
