package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/testenv"
)

// TestServeReconnectWhileStarting drops serve's NATS connection while it is still
// starting, right as JetStream answers its first request (the stock bucket's), and hands
// that answer over on the new connection: the reconnect handler then runs while serve
// is still building its worker. Run with -race: the handler must not read the worker
// while serve assigns it.
func TestServeReconnectWhileStarting(t *testing.T) {
	ns := testenv.StartTestNATS(t)
	px := newDropProxy(t, ns.Server.Addr().String())
	dir := t.TempDir()
	conf := filepath.Join(dir, "cartwright.yaml")
	if err := os.WriteFile(conf, []byte("stock: bucket\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := ln.Addr().String()
	ln.Close()
	f := &serveFlags{config: conf, data: filepath.Join(dir, "data"), httpListen: httpAddr, logLevel: "error"}
	f.conn.url = "nats://" + px.addr

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, f) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v", err)
		default:
		}
		if resp, err := http.Get("http://" + httpAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("serve not ready within 30s")
		}
	}
	if !px.dropped() {
		t.Fatal("the proxy never dropped the connection: the test did not test anything")
	}
}

// dropProxy forwards NATS connections to a server. On the first connection it holds back
// the first reply to a request (a message to an _INBOX subject), closes the connection,
// and delivers that reply on the next connection, right after its handshake.
type dropProxy struct {
	addr     string
	upstream string
	mu       sync.Mutex
	held     []byte
	n        int
}

func newDropProxy(t *testing.T, upstream string) *dropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &dropProxy{addr: ln.Addr().String(), upstream: upstream}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *dropProxy) dropped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n > 1 && p.held == nil
}

func (p *dropProxy) serve(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer s.Close()
	p.mu.Lock()
	p.n++
	first := p.n == 1
	p.mu.Unlock()
	go func() { io.Copy(s, c); s.Close() }()
	r := bufio.NewReader(s)
	for {
		frame, err := readFrame(r)
		if err != nil {
			return
		}
		if first && (bytes.HasPrefix(frame, []byte("MSG _INBOX.")) || bytes.HasPrefix(frame, []byte("HMSG _INBOX."))) {
			p.mu.Lock()
			p.held = frame
			p.mu.Unlock()
			return // drop the connection, reply undelivered
		}
		if _, err := c.Write(frame); err != nil {
			return
		}
		if !first && bytes.Equal(frame, []byte("PONG\r\n")) {
			p.mu.Lock()
			held := p.held
			p.held = nil
			p.mu.Unlock()
			if held != nil {
				if _, err := c.Write(held); err != nil {
					return
				}
			}
		}
	}
}

// readFrame reads one server-to-client protocol frame, with its payload if it has one.
func readFrame(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(line))
	if len(f) == 0 || (f[0] != "MSG" && f[0] != "HMSG") {
		return line, nil
	}
	size, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		return nil, err
	}
	payload := make([]byte, size+2)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, err
	}
	return append(line, payload...), nil
}
