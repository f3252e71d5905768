package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/bus"
)

// syncBuffer is a log the client's goroutines may write while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConnectWaitingStops: with no NATS there, serve waits (saying so once) until it is
// told to stop, then gives up with the address and no password.
func TestConnectWaitingStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logged syncBuffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	url := "nats://u:secret-pw@127.0.0.1:" + strconv.Itoa(port)
	start := time.Now()
	nc, err := connectWaiting(ctx, url, []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond)}, log)
	if err == nil {
		nc.Close()
		t.Fatal("connected to nothing")
	}
	if time.Since(start) < 2*time.Second {
		t.Errorf("gave up after %s, before it was told to", time.Since(start))
	}
	if !strings.Contains(err.Error(), "connect to NATS at nats://u:xxxxx@127.0.0.1") || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("error: %v", err)
	}
	out := logged.String()
	if n := strings.Count(out, "cannot connect to NATS yet"); n != 1 || strings.Contains(out, "secret-pw") {
		t.Errorf("the log says it waits %d times (want 1), or shows the password:\n%s", n, out)
	}
}

// TestConnectWaitingThroughAuthErrors: a server that refuses the worker's token is waited
// for like one not there yet (the client alone gives up after two refusals), until serve
// is told to stop.
func TestConnectWaitingThroughAuthErrors(t *testing.T) {
	o := bus.EmbeddedOptions("127.0.0.1", -1, t.TempDir())
	o.Authorization = "right-token"
	ns, err := bus.StartEmbedded(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	var logged syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	nc, err := connectWaiting(ctx, ns.ClientURL(), []nats.Option{nats.Token("wrong-token"), nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond)}, slog.New(slog.NewTextHandler(&logged, nil)))
	if err == nil {
		nc.Close()
		t.Fatal("connected with a wrong token")
	}
	if time.Since(start) < 3*time.Second {
		t.Errorf("gave up after %s on %v, before it was told to", time.Since(start), err)
	}
	if !strings.Contains(err.Error(), "Authorization Violation") {
		t.Errorf("error: %v", err)
	}
	if out := logged.String(); strings.Count(out, "cannot connect to NATS yet") != 1 || strings.Contains(out, "wrong-token") {
		t.Errorf("log:\n%s", out)
	}
}
