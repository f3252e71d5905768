package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

var (
	full  = flag.Bool("chaos.full", false, "run at full size: 20,000 envelopes over 500 contexts, 10 kills")
	seed  = flag.Uint64("chaos.seed", 0, "random seed (0: from the clock)")
	kills = flag.Int("chaos.kills", 0, "how many times to SIGKILL the worker (default 3, or 10 with -chaos.full)")
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestChaos: see the package doc.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos test runs the real binary for a while")
	}
	target, contexts, nkill := 2000, 60, 3
	if *full {
		target, contexts, nkill = 20000, 500, 10
	}
	if *kills > 0 {
		nkill = *kills
	}
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -chaos.seed %d)", s, s)
	rng := rand.New(rand.NewPCG(s, s>>1))
	main, conflicts := workload(rng, contexts, target)
	started := time.Now()

	ns := testenv.StartTestNATS(t)
	pay, payURL := newProcessor(t)
	t.Setenv("CHAOS_PAY_TOKEN", payToken)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "chaos.yaml")
	if err := os.WriteFile(cfgFile, []byte(chaosConfigText(payURL)), 0o644); err != nil {
		t.Fatal(err)
	}
	proc := testenv.StartServe(t, "--config", cfgFile, "--nats-url", ns.URL(), "--data", filepath.Join(dir, "data"),
		"--http-listen", "127.0.0.1:0", "--partitions", "4")
	c := testenv.NewClient(t, ns.URL())

	// Publish the workload at a steady pace while the worker is killed and restarted at
	// random moments, and nats-server restarted once halfway.
	pace := 6 * time.Second
	if *full {
		pace = 60 * time.Second
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		for i, e := range main {
			publishRetrying(t, c, e)
			if ahead := time.Duration(i+1)*pace/time.Duration(len(main)) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}()
	type event struct {
		at   time.Duration
		nats bool
	}
	var schedule []event
	for i := 0; i < nkill; i++ {
		schedule = append(schedule, event{at: time.Duration(rng.Int64N(int64(pace)))})
	}
	schedule = append(schedule, event{at: pace / 2, nats: true})
	sort.Slice(schedule, func(i, j int) bool { return schedule[i].at < schedule[j].at })
	begin := time.Now()
	for _, ev := range schedule {
		time.Sleep(time.Until(begin.Add(ev.at)))
		if ev.nats {
			ns.Restart(t)
			t.Logf("restarted nats-server at %s", ev.at.Round(time.Millisecond))
			continue
		}
		proc.Kill()
		proc.Restart()
	}
	<-done

	// The conflicts, once the workload has been answered (so that the first use of each
	// messageId is well behind them), with a last kill while they are in flight.
	waitReplies(t, c.JetStream(), main, 3*time.Minute)
	conflictReplies := make([]*nats.Msg, len(conflicts))
	var wg sync.WaitGroup
	for i, e := range conflicts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := testenv.NewClient(t, ns.URL())
			cl.Timeout = 60 * time.Second
			m, err := cl.Request("demo", e.ctx, e.body, nil)
			if err != nil {
				t.Errorf("conflict %s: %v", e.messageID, err)
				return
			}
			conflictReplies[i] = m
		}()
	}
	proc.Kill()
	proc.Restart()
	wg.Wait()

	rep := check(t, c, payURL, main, conflicts, conflictReplies)
	// The processor outlived every kill: nothing was charged twice, and every completed
	// checkout was charged.
	charged := pay.charged()
	for chk, n := range charged {
		if n != 1 {
			t.Errorf("checkout %s was charged %d times", chk, n)
		}
	}
	if len(charged) != rep.events["checkout.completed"] {
		t.Errorf("%d checkouts charged, %d completed", len(charged), rep.events["checkout.completed"])
	}
	rep.charged = len(charged)
	if err := proc.Terminate(); err != nil {
		t.Error(err)
	}
	// Stock: the store holds of each item exactly what the model's completions hold, after
	// every kill (a reservation is committed with its checkout, or not at all).
	st, err := store.Open(filepath.Join(dir, "data", "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stock, err := store.OpenStock(st, app.BuiltinStock(chaosConfig(payURL)))
	if err != nil {
		t.Fatal(err)
	}
	for item, want := range rep.held {
		if got := stock.Held("demo", item); got != want {
			t.Errorf("%s: the store holds %d, the model %d", item, got, want)
		}
	}
	rep.kills = nkill + 1
	rep.duration = time.Since(started)
	t.Log("\n" + rep.String())
}

func publishRetrying(t *testing.T, c *testenv.Client, e envelope) {
	for attempt := 0; ; attempt++ {
		_, err := c.Publish("demo", e.ctx, e.body, nats.Header{})
		if err == nil {
			return
		}
		if attempt > 600 {
			t.Fatalf("publish: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitReplies waits until A2A_OUT holds a reply for every well-formed messageId.
func waitReplies(t *testing.T, js jetstream.JetStream, main []envelope, within time.Duration) {
	t.Helper()
	ids := map[string]bool{}
	for _, e := range main {
		if e.messageID != "" {
			ids[e.messageID] = true
		}
	}
	deadline := time.Now().Add(within)
	var seen map[string]bool
	for {
		seen = map[string]bool{}
		for _, m := range collect(t, js, "A2A_OUT", 0) {
			seen[m.Header.Get("A2A-Message-Id")] = true
		}
		missing := 0
		for id := range ids {
			if !seen[id] {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messageIds still have no reply after %s", missing, len(ids), within)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type stored struct {
	Seq     uint64
	Subject string
	Time    time.Time
	Header  nats.Header
	Data    []byte
}

// collect reads a whole stream (or the part after seq).
func collect(t *testing.T, js jetstream.JetStream, stream string, after uint64) []stored {
	t.Helper()
	ctx := context.Background()
	cfg := jetstream.OrderedConsumerConfig{}
	if after > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
	}
	var out []stored
	for attempt := 0; ; attempt++ {
		cons, err := js.OrderedConsumer(ctx, stream, cfg)
		if err == nil {
			var info *jetstream.ConsumerInfo
			info, err = cons.Info(ctx)
			if err == nil {
				left := int(info.NumPending)
				for left > 0 && err == nil {
					var b jetstream.MessageBatch
					b, err = cons.Fetch(min(left, 1000), jetstream.FetchMaxWait(5*time.Second))
					if err != nil {
						break
					}
					for m := range b.Messages() {
						meta, _ := m.Metadata()
						out = append(out, stored{meta.Sequence.Stream, m.Subject(), meta.Timestamp, m.Headers(), m.Data()})
						left--
					}
				}
			}
		}
		if err == nil {
			return out
		}
		if attempt > 20 {
			t.Fatalf("reading %s: %v", stream, err)
		}
		out = out[:0]
		time.Sleep(250 * time.Millisecond)
	}
}

// report is what the run shows.
type report struct {
	envelopes, stored, distinctIDs, republished, conflicts, malformed int
	replies, errorReplies, deadLetters, replayed                      int
	completed, canceled, open                                         int
	events                                                            map[string]int
	kills, charged                                                    int
	held                                                              map[string]int64 // by item, as the model holds it
	duration                                                          time.Duration
}

func (r report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos run: %d envelopes published (%d stored), %d kills + 1 nats-server restart, %s\n",
		r.envelopes, r.stored, r.kills, r.duration.Round(time.Millisecond))
	fmt.Fprintf(&b, "  distinct messageIds %d, republished %d, conflicting %d, malformed %d\n",
		r.distinctIDs, r.republished, r.conflicts, r.malformed)
	fmt.Fprintf(&b, "  replies stored %d (errors %d, replays %d), dead letters %d\n", r.replies, r.errorReplies, r.replayed, r.deadLetters)
	fmt.Fprintf(&b, "  checkouts at the end: %d completed, %d canceled, %d open; %d checkouts charged, each once\n",
		r.completed, r.canceled, r.open, r.charged)
	fmt.Fprintf(&b, "  stock held: %v\n", r.held)
	var types []string
	for k := range r.events {
		types = append(types, k)
	}
	sort.Strings(types)
	for _, k := range types {
		fmt.Fprintf(&b, "  events %-20s %d\n", k, r.events[k])
	}
	return b.String()
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
