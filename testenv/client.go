package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Client publishes envelopes as an agent would and reads the replies.
type Client struct {
	t  testing.TB
	nc *nats.Conn
	js jetstream.JetStream
	// Prefix is the subject prefix (default "a2a").
	Prefix  string
	Timeout time.Duration
}

// NewClient connects a client to url; it is closed when the test ends.
func NewClient(t testing.TB, url string) *Client {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return &Client{t: t, nc: nc, js: js, Prefix: "a2a", Timeout: 10 * time.Second}
}

// Conn is the client's connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// JetStream is the client's JetStream context.
func (c *Client) JetStream() jetstream.JetStream { return c.js }

// Publish publishes body to the inbound subject of tenant/context with the headers.
func (c *Client) Publish(tenant, contextID string, body []byte, hdr nats.Header) (*jetstream.PubAck, error) {
	m := &nats.Msg{Subject: c.Prefix + ".in." + tenant + "." + contextID, Data: body, Header: hdr}
	if m.Header == nil {
		m.Header = nats.Header{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	return c.js.PublishMsg(ctx, m)
}

// Request publishes body with A2A-Reply-To set to a fresh inbox and returns the reply.
func (c *Client) Request(tenant, contextID string, body []byte, hdr nats.Header) (*nats.Msg, error) {
	inbox := c.nc.NewRespInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if hdr == nil {
		hdr = nats.Header{}
	}
	if hdr.Get("A2A-Reply-To") == "" {
		hdr.Set("A2A-Reply-To", inbox)
	}
	if _, err := c.Publish(tenant, contextID, body, hdr); err != nil {
		return nil, err
	}
	return sub.NextMsg(c.Timeout)
}

// Send is Request for a JSON-RPC message/send carrying one data part, failing the test
// when no reply comes.
func (c *Client) Send(tenant, contextID, messageID string, data any) *nats.Msg {
	c.t.Helper()
	m, err := c.Request(tenant, contextID, Envelope(messageID, "", data), nil)
	if err != nil {
		c.t.Fatalf("send %s to %s/%s: %v", messageID, tenant, contextID, err)
	}
	return m
}

// Envelope builds a JSON-RPC message/send envelope whose one data part is data.
// contextID may be empty (the subject's is taken).
func Envelope(messageID, contextID string, data any) []byte {
	msg := map[string]any{
		"kind": "message", "role": "user", "messageId": messageID,
		"parts": []any{map[string]any{"kind": "data", "data": data}},
	}
	if contextID != "" {
		msg["contextId"] = contextID
	}
	b, err := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": "req-" + messageID, "method": "message/send",
		"params": map[string]any{"message": msg},
	})
	if err != nil {
		panic(fmt.Sprint("testenv: envelope: ", err))
	}
	return b
}
