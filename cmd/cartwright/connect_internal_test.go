package main

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/testenv"
)

// TestConnectWaitingStops: with no NATS there, serve waits (saying so once) until it is
// told to stop, then gives up with the address and no password.
func TestConnectWaitingStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logged testenv.LogBuffer
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

// TestConnectWaitingRefusedCredentials: a server that refuses the worker's token will not
// change its mind by being asked again: serve says so at once, without the token, instead
// of waiting for ever.
func TestConnectWaitingRefusedCredentials(t *testing.T) {
	ns := testenv.StartTestNATSWith(t, func(o *server.Options) { o.Authorization = "right-token" })
	var logged testenv.LogBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	nc, err := connectWaiting(ctx, ns.URL(), []nats.Option{nats.Token("wrong-token"), nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond)}, slog.New(slog.NewTextHandler(&logged, nil)))
	if err == nil {
		nc.Close()
		t.Fatal("connected with a wrong token")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("gave up after %s, not at once", took)
	}
	if !strings.Contains(err.Error(), "NATS refused the credentials") || !strings.Contains(err.Error(), "Authorization Violation") ||
		strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("error: %v", err)
	}
	if out := logged.String(); strings.Contains(out, "wrong-token") {
		t.Errorf("log:\n%s", out)
	}
}

// TestConnectWaitingUntilServerUp: a server not there yet is waited for, saying so once,
// and the worker connects when it comes up.
func TestConnectWaitingUntilServerUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logged testenv.LogBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := connectWaiting(ctx, "nats://127.0.0.1:"+strconv.Itoa(port), []nats.Option{nats.Token("right-token"),
			nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond)}, slog.New(slog.NewTextHandler(&logged, nil)))
		done <- result{nc, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("returned with no server there: %v", r.err)
	case <-time.After(time.Second):
	}
	testenv.StartTestNATSWith(t, func(o *server.Options) { o.Port = port; o.Authorization = "right-token" })
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("server up, but: %v", r.err)
		}
		r.nc.Close()
	case <-time.After(30 * time.Second):
		t.Fatal("not connected 30s after the server came up")
	}
	if out := logged.String(); strings.Count(out, "cannot connect to NATS yet") != 1 {
		t.Errorf("log:\n%s", out)
	}
}

// TestConnectWaitingRetriesRefusalAfterStartUp: once connected, a server that refuses the
// credentials while the worker reconnects (its users being rotated) is logged as an error
// and retried, not given up on after two refusals as the client alone would.
func TestConnectWaitingRetriesRefusalAfterStartUp(t *testing.T) {
	var token atomic.Value
	token.Store("right-token")
	ns := testenv.StartTestNATSWith(t, func(o *server.Options) { o.Authorization = token.Load().(string) })
	var logged testenv.LogBuffer
	nc, err := connectWaiting(context.Background(), ns.URL(), []nats.Option{nats.Token("right-token"),
		nats.MaxReconnects(-1), nats.ReconnectWait(50 * time.Millisecond)}, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	token.Store("rotated-token")
	ns.Restart(t)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logged.String(), "level=ERROR msg=\"NATS refused the credentials while reconnecting; retrying\"") {
		if time.Now().After(deadline) {
			t.Fatalf("no error logged in 30s:\n%s", logged.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // several refusals at 50 ms each
	token.Store("right-token")
	ns.Restart(t)
	for !nc.IsConnected() {
		if nc.IsClosed() || time.Now().After(deadline) {
			t.Fatalf("not reconnected (closed: %v):\n%s", nc.IsClosed(), logged.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// About ten refusals at 50 ms each: logged once, twice if the test took over 30 s.
	if out := logged.String(); strings.Count(out, "refused the credentials while reconnecting") > 2 {
		t.Errorf("every refusal is logged:\n%s", out)
	}
}
