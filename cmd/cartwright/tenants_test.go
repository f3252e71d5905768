package main_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/testenv"
)

// tenantsConf is the layout of docs/security.md, "Tenants on a shared NATS": the worker
// as its own user, and each tenant's agents allowed to publish only into their tenant's
// inbound subjects and to read only their replies and their own inboxes.
const tenantsConf = `
authorization {
  WORKER = {
    publish   = ["a2a.>", "$JS.API.>", "$JS.ACK.>", "_INBOX.>", "$KV.A2A_STOCK.>", "$KV.A2A_GROUP.>"]
    subscribe = ["_INBOX.>"]
  }
  ACME_AGENT = {
    publish   = ["a2a.in.acme.>"]
    subscribe = ["a2a.out.acme.>", "_INBOX.acme.>"]
  }
  BOLT_AGENT = {
    publish   = ["a2a.in.bolt.>"]
    subscribe = ["a2a.out.bolt.>", "_INBOX.bolt.>"]
  }
  users = [
    {user: cartwright, password: $CARTWRIGHT_NATS_PASSWORD, permissions: $WORKER}
    {user: acme-agent, password: $ACME_AGENT_PASSWORD,      permissions: $ACME_AGENT}
    {user: bolt-agent, password: $BOLT_AGENT_PASSWORD,      permissions: $BOLT_AGENT}
  ]
}
`

const tenantsYAML = `
stock: bucket   # the widest set of permissions the worker needs
tenants:
  acme:
    builtin:
      items: [{id: sku_anvil, title: Anvil, price: 9900, stock: 10}]
      ship_to: [US]
      shipping: [{id: std, title: Standard, amount: 500}]
  bolt:
    builtin:
      items: [{id: sku_bolt, title: Bolt, price: 100, stock: 10}]
      ship_to: [US]
      shipping: [{id: std, title: Standard, amount: 500}]
`

// TestTenantsOnSharedNATS runs the worker as its own user on a NATS shared by two
// tenants' agents, each with the permissions of docs/security.md. Each tenant's agent
// buys through the real CLI (--inbox-prefix), and acme's agent can neither publish into
// bolt's subjects nor read bolt's replies, events, dead letters or inboxes, by core
// subscriptions or through the JetStream API.
func TestTenantsOnSharedNATS(t *testing.T) {
	pw := map[string]string{
		"cartwright": "worker-0123456789abcdef",
		"acme-agent": "acme-0123456789abcdef",
		"bolt-agent": "bolt-0123456789abcdef",
	}
	t.Setenv("CARTWRIGHT_NATS_PASSWORD", pw["cartwright"])
	t.Setenv("ACME_AGENT_PASSWORD", pw["acme-agent"])
	t.Setenv("BOLT_AGENT_PASSWORD", pw["bolt-agent"])
	ns := testenv.StartTestNATSConfig(t, tenantsConf)
	testenv.StartServeEnv(t, []string{"CARTWRIGHT_NATS_PASSWORD=" + pw["cartwright"]},
		"--config", writeFile(t, "tenants.yaml", tenantsYAML), "--nats-url", ns.URL(), "--user", "cartwright",
		"--data", t.TempDir(), "--http-listen", "127.0.0.1:0", "--partitions", "2")

	// acme's agent, watching everything it may not see.
	var mu sync.Mutex
	var asyncErrs []string
	acme, err := nats.Connect(ns.URL(), nats.UserInfo("acme-agent", pw["acme-agent"]),
		nats.CustomInboxPrefix("_INBOX.acme"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			mu.Lock()
			asyncErrs = append(asyncErrs, err.Error())
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer acme.Close()
	leaked := make(chan *nats.Msg, 100)
	for _, subj := range []string{"a2a.out.bolt.>", "a2a.evt.bolt.>", "a2a.evt.>", "a2a.dlq.>", "_INBOX.>", "_INBOX.bolt.>", ">"} {
		if _, err := acme.ChanSubscribe(subj, leaked); err != nil {
			t.Fatal(err)
		}
	}
	own := make(chan *nats.Msg, 100)
	if _, err := acme.ChanSubscribe("a2a.out.acme.>", own); err != nil {
		t.Fatal(err)
	}
	if err := acme.Flush(); err != nil {
		t.Fatal(err)
	}

	buy := func(tenant, sku string) string {
		t.Helper()
		env := []string{"NATS_USER=" + tenant + "-agent", "NATS_PASSWORD=" + pw[tenant+"-agent"]}
		conn := []string{"--nats-url", ns.URL(), "--tenant", tenant, "--inbox-prefix", "_INBOX." + tenant, "--timeout", "20s"}
		step := func(args ...string) *envelopes.Checkout {
			t.Helper()
			r := exeEnv(t, env, slices.Concat(args, conn)...)
			if r.code != 0 {
				t.Fatalf("%s %s: exit %d\n%s%s", tenant, strings.Join(args, " "), r.code, r.stdout, r.stderr)
			}
			if m := contextLine.FindStringSubmatch(r.stderr); m != nil {
				conn = append(conn, "--context", m[1])
			}
			return decode[envelopes.Checkout](t, r)
		}
		step("checkout", "init", "--sku", sku)
		step("checkout", "set-buyer", "--email", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace")
		step("checkout", "set-shipping", "--address", caAddress)
		step("checkout", "set-shipping-option", "--option", "std")
		c := step("checkout", "complete", "--payment-token", "tok_visa")
		if c.Status != "completed" || c.Order == nil {
			t.Fatalf("%s: complete: status %s, messages %+v", tenant, c.Status, c.Messages)
		}
		return c.ID
	}
	buy("acme", "sku_anvil")
	buy("bolt", "sku_bolt")
	// A message bolt should never have reached acme's inbound stream: dead-lettered.
	bolt, err := nats.Connect(ns.URL(), nats.UserInfo("bolt-agent", pw["bolt-agent"]), nats.CustomInboxPrefix("_INBOX.bolt"))
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	bjs, _ := jetstream.New(bolt)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := bjs.Publish(ctx, "a2a.in.bolt.ctx-junk", []byte("not json")); err != nil {
		t.Fatalf("bolt publishing into its own inbound subject: %v", err)
	}

	// Without A2A-Reply-To, acme's reply comes on a2a.out.acme.<context>, which acme's
	// agent may read.
	ajs, _ := jetstream.New(acme)
	create := `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message",` +
		`"role":"user","messageId":"m-out","parts":[{"kind":"data","data":{"action":"create_checkout"}}]}}}`
	if _, err := ajs.Publish(ctx, "a2a.in.acme.ctx-out", []byte(create)); err != nil {
		t.Fatalf("acme publishing into its own inbound subject: %v", err)
	}
	select {
	case m := <-own:
		if m.Subject != "a2a.out.acme.ctx-out" || m.Header.Get("A2A-Status") != "ok" {
			t.Fatalf("acme's reply: %s %v %s", m.Subject, m.Header, m.Data)
		}
	case <-ctx.Done():
		t.Fatal("acme's agent received no reply on a2a.out.acme.>")
	}

	// acme's agent may not publish into bolt's inbound subjects, core or JetStream, nor
	// use the JetStream API at all.
	worker, err := nats.Connect(ns.URL(), nats.UserInfo("cartwright", pw["cartwright"]))
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Close()
	wjs, _ := jetstream.New(worker)
	inbound := func() uint64 {
		s, err := wjs.Stream(ctx, "A2A_IN")
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().State.Msgs
	}
	before := inbound()
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	if _, err := ajs.Publish(short, "a2a.in.bolt.ctx-evil", []byte(`{}`)); err == nil {
		t.Error("acme's agent published into bolt's inbound stream")
	}
	cancelShort()
	if err := acme.Publish("a2a.in.bolt.ctx-evil", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{"A2A_OUT", "A2A_EVT", "A2A_DLQ"} {
		short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
		if _, err := ajs.Stream(short, stream); err == nil {
			t.Errorf("acme's agent reached stream %s through the JetStream API", stream)
		}
		cancelShort()
	}
	short, cancelShort = context.WithTimeout(ctx, 2*time.Second)
	if _, err := ajs.OrderedConsumer(short, "A2A_DLQ", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"a2a.dlq.bolt.>"}}); err == nil {
		t.Error("acme's agent made a consumer on the dead letters")
	}
	cancelShort()
	if err := acme.Flush(); err != nil {
		t.Fatal(err)
	}
	if after := inbound(); after != before {
		t.Errorf("A2A_IN holds %d messages after acme's agent published to bolt, %d before", after, before)
	}

	// Let bolt's dead letter and any stray message arrive before looking.
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := wjs.Stream(ctx, "A2A_DLQ")
		if err == nil && s.CachedInfo().State.Msgs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bolt's malformed envelope was not dead-lettered")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	select {
	case m := <-leaked:
		t.Fatalf("acme's agent received %s on a subscription it is not allowed", m.Subject)
	default:
	}
	for len(own) > 0 {
		if m := <-own; !strings.HasPrefix(m.Subject, "a2a.out.acme.") {
			t.Errorf("acme's agent received %s", m.Subject)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	joined := strings.Join(asyncErrs, "\n")
	for _, want := range []string{
		`Permissions Violation for Subscription to "a2a.out.bolt.>"`,
		`Permissions Violation for Subscription to "_INBOX.bolt.>"`,
		`Permissions Violation for Publish to "a2a.in.bolt.ctx-evil"`,
		`Permissions Violation for Publish to "$JS.API.STREAM.INFO.A2A_DLQ"`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %q among acme's errors:\n%s", want, joined)
		}
	}
}
