package bus_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/testenv"
)

// slowDiscounts is a discount service (docs/providers.md) that takes delay to answer
// that no code exists. A worker handling apply_discount waits for it inside a chunk,
// before the chunk commits: a worker paused then holds a chunk it will commit after
// it wakes.
type slowDiscounts struct {
	srv      *httptest.Server
	calls    atomic.Int64
	inFlight atomic.Int64
}

func startSlowDiscounts(t *testing.T, delay time.Duration) *slowDiscounts {
	t.Helper()
	d := &slowDiscounts{}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.calls.Add(1)
		d.inFlight.Add(1)
		defer d.inFlight.Add(-1)
		time.Sleep(delay)
		http.NotFound(w, r)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

// config is the demo tenant with its discounts at d, waited for as long as a test takes,
// and the changelog on or off.
func (d *slowDiscounts) config(t *testing.T, changelog bool) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "cartwright.yaml")
	conf := fmt.Sprintf(`changelog: %v
tenants:
  demo:
    builtin:
      items:
        - {id: sku_gift, title: Gift Card, price: 5000, digital: true}
    providers:
      discounts:
        http: {base_url: %q, timeout: 60s, max_attempts: 1}
`, changelog, d.srv.URL)
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// wire records what is sent on the subjects that act on a partition's envelopes: the
// replies, events and dead letters, and the acknowledgements (any answer to a delivery)
// of the inbound stream's consumers. A core subscription sees every publish, those
// JetStream drops as duplicates included.
type wire struct {
	mu   sync.Mutex
	msgs []wireMsg
}

type wireMsg struct {
	subject, body, messageID string
}

func watchWire(t *testing.T, url string) *wire {
	t.Helper()
	nc, err := nats.Connect(url, nats.Name("wire-watch"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	w := &wire{}
	for _, subj := range []string{"a2a.out.>", "a2a.evt.>", "a2a.dlq.>", "$JS.ACK.A2A_IN.>"} {
		sub, err := nc.Subscribe(subj, func(m *nats.Msg) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.msgs = append(w.msgs, wireMsg{subject: m.Subject, body: string(m.Data), messageID: m.Header.Get("A2A-Message-Id")})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return w
}

// mark is how many messages were seen so far.
func (w *wire) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.msgs)
}

// since is what was seen after mark, leaving out the in-progress notes (+WPI) that only
// ask for more time: acting is a reply, an event, a dead letter, an ack, a nak or a term.
func (w *wire) since(mark int) []wireMsg {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []wireMsg
	for _, m := range w.msgs[mark:] {
		if strings.HasPrefix(m.subject, "$JS.ACK.") && strings.HasPrefix(m.body, "+WPI") {
			continue
		}
		out = append(out, m)
	}
	return out
}

// A worker paused with SIGSTOP past its leases, in the middle of a chunk it then commits,
// wakes to a group where another worker owns its partitions and has answered every
// envelope. It must act on nothing of the partitions it lost: no reply, event or dead
// letter, no ack, nak or term, however long it runs on, nor when it stops and starts
// again; its fence metric counts the chunk it held. Every envelope has exactly one reply,
// published once.
//
// Without the changelog, the check that makes it so is partition.owner before a chunk's
// publish (bus/partition.go): without it the woken worker publishes its chunk's replies,
// which this test sees on the wire even where JetStream drops them as duplicates. With
// the changelog on, the chunk's changelog write, fenced on the server by the epoch, stops
// it too; the woken worker that gets partitions back restores them first.
func TestGroupFenceAfterSIGSTOP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary for several seconds")
	}
	for _, changelog := range []bool{false, true} {
		t.Run(fmt.Sprintf("changelog %v", changelog), func(t *testing.T) { testFenceAfterSIGSTOP(t, changelog) })
	}
}

func testFenceAfterSIGSTOP(t *testing.T, changelog bool) {
	n := testenv.StartTestNATS(t)
	disc := startSlowDiscounts(t, 300*time.Millisecond)
	conf := disc.config(t, changelog)
	httpA := testenv.FreeAddr(t)
	args := func(id, httpAddr string) []string {
		return []string{"--nats-url", n.URL(), "--data", filepath.Join(t.TempDir(), id), "--http-listen", httpAddr,
			"--partitions", "4", "--worker-id", id, "--config", conf}
	}
	a := testenv.StartServe(t, args("w-a", httpA)...)
	waitOutput(t, a, "partition acquired", 4, 10*time.Second)
	c := testenv.NewClient(t, n.URL())
	wire := watchWire(t, n.URL())

	// Every context: create_checkout, then apply_discount, whose lookup takes 300 ms.
	const contexts = 16
	var ids []string
	for i := range contexts {
		ctx := fmt.Sprintf("f-%d", i)
		for _, step := range []struct {
			name string
			data map[string]any
		}{
			{"create", map[string]any{"action": "create_checkout"}},
			{"discount", map[string]any{"action": "apply_discount", "code": "SLOW"}},
		} {
			id := ctx + "-" + step.name
			if _, err := c.Publish("demo", ctx, testenv.Envelope(id, "", step.data), nil); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	}
	// Pause A while it waits for a lookup: it holds a chunk it has handled in part and will
	// commit when it wakes.
	for deadline := time.Now().Add(10 * time.Second); disc.inFlight.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("worker A asked for no discount:\n%s", a.Output())
		}
	}
	if err := syscall.Kill(a.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := true
	defer func() {
		if paused {
			syscall.Kill(a.Pid(), syscall.SIGCONT)
		}
	}()
	// Stopped, A sends nothing more: what it published before the pause reaches the watch
	// within a moment.
	time.Sleep(200 * time.Millisecond)
	repliedByA := len(wire.since(0))
	beforePause := map[string]bool{}
	for _, m := range wire.since(0) {
		if strings.HasPrefix(m.subject, "a2a.out.") {
			beforePause[m.messageID] = true
		}
	}

	// B takes every partition once A's leases expire (one TTL, 6 s, after A's last
	// renewal) and answers every envelope.
	b := testenv.StartServe(t, args("w-b", "127.0.0.1:0")...)
	waitOutput(t, b, "partition acquired", 4, 15*time.Second)
	replies := countRepliesWithin(t, c, len(ids), 60*time.Second)
	waitAllAcked(t, c, 4, 30*time.Second)
	if len(replies) != len(ids) {
		t.Fatalf("%d envelopes answered of %d before A woke:\nB:\n%s", len(replies), len(ids), b.Output())
	}
	if disc.calls.Load() < contexts {
		t.Fatalf("%d discount lookups, want at least %d (B's)", disc.calls.Load(), contexts)
	}

	// Nothing is left to do: whatever is sent from now on is A's.
	before := wire.mark()
	if err := syscall.Kill(a.Pid(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	paused = false
	waitOutput(t, a, "partition lost without a hand-over", 4, 15*time.Second)
	fenced := waitMetric(t, "http://"+httpA+"/metrics", "cartwright_partition_fenced_total", 1, 15*time.Second)
	// Long enough for A to finish its chunk's lookups, for its outbox pump's ticks (1 s)
	// and for a rebalance to give it partitions back.
	time.Sleep(4 * time.Second)

	for _, m := range wire.since(before) {
		t.Errorf("after it woke, the paused worker sent on %s: %.200q (message %s)", m.subject, m.body, m.messageID)
	}
	// Stopped (SIGTERM: its last flush of the outbox) and started again (the outbox is
	// published first), it still sends nothing of the chunks it was fenced out of.
	woke := wire.mark()
	if err := a.Terminate(); err != nil {
		t.Error(err)
	}
	a.Restart()
	time.Sleep(2 * time.Second)
	for _, m := range wire.since(woke) {
		t.Errorf("stopped and started again, the worker that was fenced out sent on %s: %.200q (message %s)", m.subject, m.body, m.messageID)
	}
	// Every envelope has one reply, stored once.
	for id, k := range countReplies(t, c.JetStream()) {
		if k != 1 {
			t.Errorf("%s: %d replies stored", id, k)
		}
	}
	// Every reply was published once: the wire saw no second publish of any, but for a
	// reply A published before the pause and had not acknowledged yet (SIGSTOP between a
	// chunk's publish and its ack), which the new owner publishes again (JetStream stores
	// one). And the watch sees acknowledgements: every envelope was acknowledged once at
	// least.
	published, acks := map[string]int{}, 0
	for _, m := range wire.since(0) {
		switch {
		case strings.HasPrefix(m.subject, "a2a.out."):
			published[m.messageID]++
		case strings.HasPrefix(m.subject, "$JS.ACK."):
			acks++
		}
	}
	if acks < len(ids) {
		t.Errorf("the wire saw %d acknowledgements for %d envelopes", acks, len(ids))
	}
	for _, id := range ids {
		k := published[id]
		if k == 2 && beforePause[id] {
			continue // by A before the pause, and again by B: A woke to send nothing (above)
		}
		if k != 1 {
			t.Errorf("%s: its reply published %d times", id, k)
		}
	}
	if t.Failed() {
		t.Logf("A:\n%s\nB:\n%s", a.Output(), b.Output())
	}
	t.Logf("%d envelopes; sent before the pause: %d; acknowledgements seen: %d; A's cartwright_partition_fenced_total %v; %d discount lookups",
		len(ids), repliedByA, acks, fenced, disc.calls.Load())
}

// waitAllAcked waits until none of the inbound stream's partitions consumers has an
// envelope pending or unacknowledged.
func waitAllAcked(t *testing.T, c *testenv.Client, partitions int, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	for {
		busy := ""
		for p := range partitions {
			name := fmt.Sprintf("cartwright-p%03d", p)
			cons, err := c.JetStream().Consumer(ctx, "A2A_IN", name)
			if err != nil {
				busy = name + ": " + err.Error()
				break
			}
			info, err := cons.Info(ctx)
			if err != nil {
				busy = name + ": " + err.Error()
				break
			}
			if info.NumPending > 0 || info.NumAckPending > 0 {
				busy = fmt.Sprintf("%s: %d pending, %d unacknowledged", name, info.NumPending, info.NumAckPending)
				break
			}
		}
		if busy == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumers not done in %s: %s", within, busy)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitMetric waits until the counter name at url (a /metrics page) is at least want, and
// returns it; an error when it is not, after within.
func waitMetric(t *testing.T, url, name string, want float64, within time.Duration) float64 {
	t.Helper()
	deadline := time.Now().Add(within)
	var got float64
	for {
		if code, body := testenv.Get(t, url); code == http.StatusOK {
			for _, line := range strings.Split(body, "\n") {
				if v, ok := strings.CutPrefix(line, name+" "); ok {
					got, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
				}
			}
		}
		if got >= want {
			return got
		}
		if time.Now().After(deadline) {
			t.Errorf("%s at %s: %v in %s, want at least %v", name, url, got, within, want)
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countRepliesWithin waits up to within for want replies in A2A_OUT and counts them per
// A2A-Message-Id.
func countRepliesWithin(t *testing.T, c *testenv.Client, want int, within time.Duration) map[string]int {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		s, err := c.JetStream().Stream(ctx, "A2A_OUT")
		if err != nil {
			continue
		}
		if info, err := s.Info(ctx); err == nil && int(info.State.Msgs) >= want {
			break
		}
	}
	return countReplies(t, c.JetStream())
}

// waitOutput waits until p's log holds want lines containing s.
func waitOutput(t *testing.T, p *testenv.Proc, s string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for strings.Count(p.Output(), s) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d lines %q in %s, want %d:\n%s", strings.Count(p.Output(), s), s, within, want, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
