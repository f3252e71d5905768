package bus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// catalogOutage is a catalog (and its inventory) that fails transiently while down.
// served is told the id of every item it looks up while up.
type catalogOutage struct {
	*providers.Catalog
	down   atomic.Bool
	failed atomic.Int64
	served chan string
}

func (c *catalogOutage) Item(ctx context.Context, id string) (commerce.Item, bool, error) {
	if c.down.Load() {
		c.failed.Add(1)
		return commerce.Item{}, false, commerce.Transient("catalog", errors.New("503 from upstream"))
	}
	select {
	case c.served <- id:
	default:
	}
	return c.Catalog.Item(ctx, id)
}

func addItem(id string) map[string]any {
	return map[string]any{"action": "add_item", "item_id": id, "quantity": 1}
}

// TestOutageKeepsContextOrder: envelopes queued behind one that failed transiently and
// went back to JetStream several times, and one sent once the outage is over, all apply in
// the order the stream holds them.
func TestOutageKeepsContextOrder(t *testing.T) {
	letters := []string{"a", "b", "c", "d", "e"}
	var items []providers.CatalogItem
	for _, l := range letters {
		items = append(items, providers.CatalogItem{ID: "item_" + l, Title: strings.ToUpper(l), Price: 100, Digital: true})
	}
	cat := &catalogOutage{Catalog: providers.NewCatalog(items), served: make(chan string, 16)}
	cfg := &config.Config{Partitions: 1, Batch: config.Batch{MaxDeliver: 50}}
	w := testenv.StartWorker(t, cfg, handlers.Options{RetryBudget: 20 * time.Millisecond,
		Providers: handlers.Providers{Catalog: cat, Inventory: cat}})
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "ord", "ord-create", map[string]any{"action": "create_checkout"})
	replies, err := c.Conn().SubscribeSync("a2a.out.demo.ord")
	if err != nil {
		t.Fatal(err)
	}

	cat.down.Store(true)
	publish := func(l string) {
		t.Helper()
		if _, err := c.Publish("demo", "ord", testenv.Envelope("ord-"+l, "", addItem("item_"+l)), nil); err != nil {
			t.Fatal(err)
		}
	}
	// With a retry budget shorter than the first backoff, each delivery asks the
	// catalog twice: once, and once more in process.
	failed := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); cat.failed.Load() < n; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the catalog was asked %d times during the outage, want %d", cat.failed.Load(), n)
			}
		}
	}
	publish("a")
	failed(4) // a went back to JetStream twice
	for _, l := range letters[1:4] {
		publish(l)
	}
	failed(6) // and once more, with b, c and d waiting behind it
	for len(cat.served) > 0 {
		<-cat.served
	}
	cat.down.Store(false)
	// e is sent the moment a is through, while b, c and d are still out in JetStream.
	select {
	case id := <-cat.served:
		if id != "item_a" {
			t.Fatalf("after the outage the catalog was first asked for %s, want item_a", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the first envelope was not retried after the outage")
	}
	if _, err := c.Publish("demo", "ord", testenv.Envelope("ord-e", "", addItem("item_e")), nil); err != nil {
		t.Fatal(err)
	}

	var order []string
	for range letters {
		m, err := replies.NextMsg(30 * time.Second)
		if err != nil {
			t.Fatalf("replies so far %v: %v", order, err)
		}
		if code := errCode(decode(t, m)); code != "" {
			t.Fatalf("%s: error %s", m.Header.Get("A2A-Message-Id"), code)
		}
		order = append(order, strings.TrimPrefix(m.Header.Get("A2A-Message-Id"), "ord-"))
	}
	if got, want := strings.Join(order, ""), "abcde"; got != want {
		t.Errorf("replies in order %s, want %s", got, want)
	}
	r := decode(t, c.Send("demo", "ord", "ord-get", map[string]any{"action": "get_checkout"}))
	var lines []string
	for _, l := range r.Result.Parts[0].Data.Checkout.LineItems {
		lines = append(lines, strings.TrimPrefix(l.Item.ID, "item_"))
	}
	if got, want := strings.Join(lines, ""), "abcde"; got != want {
		t.Errorf("line items in order %s, want %s", got, want)
	}
}

// hangingFor is a payment provider that never answers, and counts the calls it hung in.
type hangingFor struct {
	*providers.MockPayments
	calls atomic.Int64
}

func (h *hangingFor) Authorize(ctx context.Context, _ commerce.PaymentRequest) (commerce.PaymentResult, error) {
	if ctx.Err() == nil {
		h.calls.Add(1)
		<-ctx.Done()
	}
	return commerce.PaymentResult{}, ctx.Err()
}

// inflight watches, from the outside, the deliveries of the inbound stream's consumers and
// the acknowledgements, naks and consumer resets that end them. It reports deliveries that
// stayed open longer than the ack wait (JetStream then delivers them again, while they may
// still be being handled), deliveries of a message whose previous delivery is open, and
// resets asked for before JetStream took the returns sent before them.
type inflight struct {
	ackWait time.Duration
	mu      sync.Mutex
	open    map[string]time.Time // by consumer and stream sequence: when delivered
	seen    int                  // deliveries
	faults  []string
	closed  chan struct{}
	// untaken are the consumers with returns (NAKs) sent and not known to be taken: a
	// reset must not come before JetStream answered a return sent after them
	// (partition.takeReturns). asked maps the reply subject of such a return to its
	// consumer.
	untaken map[string]int
	asked   map[string]string
	resets  int // resets that came with no return untaken
}

func watchDeliveries(t *testing.T, nc *nats.Conn, ackWait time.Duration) *inflight {
	t.Helper()
	f := &inflight{ackWait: ackWait, open: map[string]time.Time{}, closed: make(chan struct{}),
		untaken: map[string]int{}, asked: map[string]string{}}
	// One channel for every subject keeps the order the server sent them in.
	ch := make(chan *nats.Msg, 4096)
	var subs []*nats.Subscription
	for _, subj := range []string{"_INBOX.>", "$JS.ACK.>", "$JS.API.CONSUMER.RESET.>"} {
		sub, err := nc.ChanSubscribe(subj, ch)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	go func() {
		defer close(f.closed)
		for {
			select {
			case m := <-ch:
				f.see(m, time.Now())
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		for _, sub := range subs {
			_ = sub.Unsubscribe()
		}
		close(stop)
		<-f.closed
	})
	return f
}

// ackSeq returns the consumer and stream sequence, and the delivery count, of a $JS.ACK
// subject: $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>,
// or the same after a domain and an account hash.
func ackSeq(subj string) (seq string, delivered int, ok bool) {
	tok := strings.Split(subj, ".")
	if len(tok) >= 11 {
		tok = tok[2:]
	}
	if len(tok) < 9 || tok[2] != "A2A_IN" {
		return "", 0, false
	}
	n, err := strconv.Atoi(tok[4])
	return tok[3] + "/" + tok[5], n, err == nil
}

func (f *inflight) see(m *nats.Msg, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.HasPrefix(m.Subject, "$JS.API.CONSUMER.RESET."):
		clear(f.open) // everything after the ack floor comes again
		cons := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
		if n := f.untaken[cons]; n > 0 {
			f.faults = append(f.faults, fmt.Sprintf("%s reset with %d returns JetStream may not have taken yet", cons, n))
		} else {
			f.resets++
		}
		delete(f.untaken, cons)
	case f.asked[m.Subject] != "":
		// JetStream answered a return: it took every one sent before it.
		delete(f.untaken, f.asked[m.Subject])
		delete(f.asked, m.Subject)
	case strings.HasPrefix(m.Subject, "$JS.ACK."):
		// +ACK, -NAK or +TERM: the delivery is over.
		if seq, n, ok := ackSeq(m.Subject); ok {
			if bytes.HasPrefix(m.Data, []byte("-NAK")) {
				cons := seq[:strings.IndexByte(seq, '/')]
				if m.Reply != "" {
					f.asked[m.Reply] = cons
				} else {
					f.untaken[cons]++
				}
			}
			if at, open := f.open[seq]; open && now.Sub(at) > f.ackWait {
				f.faults = append(f.faults, fmt.Sprintf("%s delivery %d ended after %s", seq, n, now.Sub(at).Round(time.Millisecond)))
			}
			delete(f.open, seq)
		}
	case strings.HasPrefix(m.Reply, "$JS.ACK."):
		if seq, n, ok := ackSeq(m.Reply); ok {
			f.seen++
			if _, open := f.open[seq]; open {
				f.faults = append(f.faults, fmt.Sprintf("%s delivery %d while the previous one was open", seq, n))
			}
			f.open[seq] = now
		}
	}
}

// report returns how many deliveries it saw, and what went wrong with them so far.
func (f *inflight) report() (deliveries int, faults []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	faults = append(faults, f.faults...)
	for seq, at := range f.open {
		if d := time.Since(at); d > f.ackWait {
			faults = append(faults, fmt.Sprintf("%s open for %s", seq, d.Round(time.Millisecond)))
		}
	}
	return f.seen, faults
}

// TestHangingPaymentsStayWithinTheAckWait: payment calls that hang hold their envelopes no
// longer than the partition can afford: other contexts of the same partition are answered
// while the hanging ones are still pending, and JetStream never delivers an envelope again
// while it is being handled.
func TestHangingPaymentsStayWithinTheAckWait(t *testing.T) {
	pay := &hangingFor{MockPayments: providers.NewMockPayments()}
	// The envelope timeout keeps its default: the ack wait is what must bound it.
	cfg := &config.Config{Partitions: 1, Batch: config.Batch{AckWait: 6 * time.Second, MaxDeliver: 20}}
	w := testenv.StartWorker(t, cfg, handlers.Options{RetryBudget: 20 * time.Millisecond,
		Providers: handlers.Providers{Payments: pay}})
	c := testenv.NewClient(t, w.NATS.URL())
	hangs := []string{"hang1", "hang2", "hang3"}
	others := []string{"free1", "free2", "free3", "free4"}
	for _, ctx := range append(append([]string(nil), hangs...), others...) {
		giftCheckout(c, ctx)
	}
	watch := watchDeliveries(t, c.Conn(), cfg.Batch.AckWait)
	replies, err := c.Conn().SubscribeSync("a2a.out.demo.*")
	if err != nil {
		t.Fatal(err)
	}

	// One of the other contexts sends three envelopes among the payments: those its chunk
	// has no time left for must still apply in order.
	start := time.Now()
	for i, ctx := range hangs {
		if _, err := c.Publish("demo", ctx, testenv.Envelope(ctx+"-pay", "", completeData("tok_visa")), nil); err != nil {
			t.Fatal(err)
		}
		sku := []string{"sku_tee", "sku_mug", "sku_cap"}[i]
		if _, err := c.Publish("demo", "free1", testenv.Envelope("free1-"+sku, "", addItem(sku)), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, ctx := range others[1:] {
		if _, err := c.Publish("demo", ctx, testenv.Envelope(ctx+"-get", "", map[string]any{"action": "get_checkout"}), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Three payments hanging one after another must not hold the others for anything
	// like three envelope timeouts (10 s each by default).
	var lines []string
	for range len(others) + 2 {
		m, err := replies.NextMsg(15 * time.Second)
		if err != nil {
			t.Fatalf("other contexts not answered %s after the hanging payments: %v", time.Since(start).Round(time.Millisecond), err)
		}
		id := m.Header.Get("A2A-Message-Id")
		r := decode(t, m)
		if !strings.HasPrefix(id, "free") || errCode(r) != "" {
			t.Fatalf("reply to %s while the others waited: %s", id, m.Data)
		}
		if m.Subject == "a2a.out.demo.free1" {
			lines = lines[:0]
			for _, l := range r.Result.Parts[0].Data.Checkout.LineItems {
				lines = append(lines, l.Item.ID)
			}
		}
	}
	if got, want := strings.Join(lines, " "), "sku_gift sku_tee sku_mug sku_cap"; got != want {
		t.Errorf("free1 has line items %s, want %s", got, want)
	}
	// The others come after each payment's first try in the stream, but not after its
	// retries.
	hung := pay.calls.Load()
	t.Logf("other contexts answered after %s and %d hanging payment calls", time.Since(start).Round(time.Millisecond), hung)
	if hung == 0 || hung > int64(len(hangs)) {
		t.Errorf("payment calls hung %d times before the other contexts were answered, want 1 to %d", hung, len(hangs))
	}
	// Let the hanging ones be tried again for a while, past the ack wait.
	time.Sleep(cfg.Batch.AckWait)
	n, faults := watch.report()
	if n < len(hangs)+len(others) {
		t.Errorf("saw %d deliveries, want at least %d", n, len(hangs)+len(others))
	}
	watch.mu.Lock()
	resets := watch.resets
	watch.mu.Unlock()
	if resets == 0 {
		t.Errorf("saw no reset after returns were taken: the chunks out of time must have been rewound")
	}
	if len(faults) > 0 {
		t.Errorf("faults in the deliveries: %v", faults)
	}
}
