package chaos

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/testenv"
)

var groupFull = flag.Bool("chaos.group.full", false,
	"run the group's chaos test at full size: 20,000 envelopes over 500 contexts, 5 rounds of SIGKILL, SIGTERM and a NATS node restart")

// limitedStock is how many units of sku_limited there are; limitedBuyers contexts try to
// buy one each, all at once, across the group.
const (
	limitedStock  = 12
	limitedBuyers = 30
	// groupPartitions: two per worker of three.
	groupPartitions = 6
	// maxGap bounds, loosely, how long any envelope may wait for its reply through the
	// run's kills and restarts: a dead worker's partitions move within 10 s (CONTRACT.md
	// section 10), a node restart and a loaded machine add to it.
	maxGap = 60 * time.Second
)

// groupConfigText is the chaos merchant with one more item, of which there are only
// limitedStock units, and with the changelog and the stock bucket: the state moves with
// a partition, and stock is counted across the group.
func groupConfigText(paymentsURL string) string {
	s := chaosConfigText(paymentsURL)
	gift := "        - {id: sku_gift, title: Gift Card, price: 5000, digital: true}\n"
	s = strings.Replace(s, gift, gift+fmt.Sprintf("        - {id: sku_limited, title: Last Units, price: 3000, stock: %d}\n", limitedStock), 1)
	s = strings.Replace(s, "stock: store\n", "", 1) // the single worker's checks read the store's counts
	return s + "changelog: true\nstock: bucket\n"
}

// group is three worker processes of the real binary against a three-node cluster.
type group struct {
	t       *testing.T
	cluster *testenv.Cluster
	procs   []*testenv.Proc
	trail   *stockTrail
}

func (g *group) worker(i int) string { return fmt.Sprintf("w%d", i) }

// TestGroupChaos runs the chaos workload through a group of three workers of the real
// binary on a three-node NATS cluster (every stream and bucket R3, the changelog on, the
// stock in its bucket): one worker is SIGKILLed and restarted, another SIGTERMed and
// restarted, and a NATS node restarted, while the workload flows. Afterwards it checks
// CONTRACT.md sections 6 and 10 as TestChaos does (one outcome per envelope, effects and
// charges once, order and state per context against the model, the stock bucket holding
// exactly what the completed checkouts reserved), reports the longest any envelope
// waited for its reply, and then has limitedBuyers contexts race for limitedStock units
// across the group, with a worker killed meanwhile: exactly limitedStock are sold.
func TestGroupChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the group chaos test runs a cluster and three processes for a while")
	}
	target, contexts, rounds := 1500, 48, 1
	pace := 12 * time.Second
	if *groupFull {
		target, contexts, rounds = 20000, 500, 5
		pace = 150 * time.Second
	}
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -chaos.seed %d)", s, s)
	rng := rand.New(rand.NewPCG(s, s>>1))
	main, conflicts := workload(rng, contexts, target)
	started := time.Now()

	cl := testenv.StartTestCluster(t)
	cl.WaitReplicated(t)
	pay, payURL := newProcessor(t)
	t.Setenv("CHAOS_PAY_TOKEN", payToken)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "group.yaml")
	if err := os.WriteFile(cfgFile, []byte(groupConfigText(payURL)), 0o644); err != nil {
		t.Fatal(err)
	}
	g := &group{t: t, cluster: cl}
	// On a failure, the workers' logs (every run of each) stay for a diagnosis.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		keep := filepath.Join(os.TempDir(), fmt.Sprintf("cartwright-group-chaos-%d", s))
		if err := os.MkdirAll(keep, 0o755); err != nil {
			t.Log(err)
			return
		}
		for i, p := range g.procs {
			_ = os.WriteFile(filepath.Join(keep, g.worker(i)+".log"), []byte(p.AllOutput()), 0o644)
		}
		t.Logf("the workers' logs are in %s", keep)
	})
	for i := range 3 {
		g.procs = append(g.procs, testenv.StartServe(t, "--config", cfgFile, "--nats-url", cl.URLs(),
			"--data", filepath.Join(dir, "data-"+g.worker(i)), "--worker-id", g.worker(i),
			"--http-listen", "127.0.0.1:0", "--partitions", fmt.Sprint(groupPartitions), "--replicas", "3"))
	}
	c := testenv.NewClient(t, cl.URLs())
	c.Timeout = 30 * time.Second
	trail := watchStock(t, c.JetStream())
	g.trail = trail

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
	var log []string
	begin := time.Now()
	at := func(d time.Duration) {
		time.Sleep(time.Until(begin.Add(d)))
	}
	span := pace / time.Duration(rounds)
	for r := range rounds {
		base := time.Duration(r) * span
		killed := rng.IntN(3)
		at(base + span/10)
		log = append(log, fmt.Sprintf("%s SIGKILL %s", time.Since(begin).Round(time.Millisecond), g.worker(killed)))
		g.procs[killed].Kill()
		g.procs[killed].Restart()
		log = append(log, fmt.Sprintf("%s %s running again", time.Since(begin).Round(time.Millisecond), g.worker(killed)))
		termed := (killed + 1 + rng.IntN(2)) % 3
		at(base + span*4/10)
		log = append(log, fmt.Sprintf("%s SIGTERM %s", time.Since(begin).Round(time.Millisecond), g.worker(termed)))
		if err := g.procs[termed].Terminate(); err != nil {
			t.Error(err)
		}
		g.procs[termed].Restart()
		log = append(log, fmt.Sprintf("%s %s running again", time.Since(begin).Round(time.Millisecond), g.worker(termed)))
		node := rng.IntN(3)
		at(base + span*6/10)
		log = append(log, fmt.Sprintf("%s NATS node n%d stopped", time.Since(begin).Round(time.Millisecond), node))
		cl.Stop(node)
		at(base + span*8/10)
		cl.Start(t, node)
		log = append(log, fmt.Sprintf("%s NATS node n%d started", time.Since(begin).Round(time.Millisecond), node))
	}
	<-done
	t.Log("events:\n  " + strings.Join(log, "\n  "))

	// The conflicts once the workload is answered, with a worker killed while they are in
	// flight.
	waitReplies(t, c.JetStream(), main, 3*time.Minute)
	conflictReplies := make([]*nats.Msg, len(conflicts))
	var wg sync.WaitGroup
	for i, e := range conflicts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := testenv.NewClient(t, cl.URLs())
			cc.Timeout = 60 * time.Second
			m, err := cc.Request("demo", e.ctx, e.body, nil)
			if err != nil {
				t.Errorf("conflict %s: %v", e.messageID, err)
				return
			}
			conflictReplies[i] = m
		}()
	}
	killed := rng.IntN(3)
	g.procs[killed].Kill()
	g.procs[killed].Restart()
	wg.Wait()

	rep := check(t, c, payURL, main, conflicts, conflictReplies)
	rep.kills = rounds + 1 // the SIGKILLs; the SIGTERMs and node restarts are logged above
	js := c.JetStream()
	checkStockBucket(t, js, rep.held, nil, nil, trail)
	gaps := replyGaps(t, js, begin)
	t.Logf("time from an envelope stored to its reply stored: %s", gaps)
	if gaps.longest > maxGap {
		t.Errorf("context %s waited %s for the reply to %s, longer than %s", gaps.ctx, gaps.longest, gaps.id, maxGap)
	}

	sold := g.raceForStock(t, c, rng)

	// The processor outlived every kill: nothing was charged twice, and every completed
	// checkout was charged.
	charged := pay.charged()
	for chk, n := range charged {
		if n != 1 {
			t.Errorf("checkout %s was charged %d times", chk, n)
		}
	}
	if want := rep.events["checkout.completed"] + sold; len(charged) != want {
		t.Errorf("%d checkouts charged, %d completed", len(charged), want)
	}
	rep.charged = len(charged)
	for i, p := range g.procs {
		if err := p.Terminate(); err != nil {
			t.Errorf("%s: %v", g.worker(i), err)
		}
	}
	rep.duration = time.Since(started)
	t.Log("\n" + rep.String())
	t.Logf("the line above counts the SIGKILLs before the checks; the run also sent %d SIGTERMs, restarted a node of the cluster %d times (not a whole nats-server), and SIGKILLed one more worker in the race for stock", rounds, rounds)
	t.Logf("limited stock: %d buyers for %d units, %d sold", limitedBuyers, limitedStock, sold)
}

// raceForStock has limitedBuyers contexts each make a checkout of one sku_limited, then
// complete them all at once, across the group, while a worker is killed and restarted.
// It checks that exactly limitedStock were sold (never more, and none held by a checkout
// that did not complete) and returns how many were.
func (g *group) raceForStock(t *testing.T, c *testenv.Client, rng *rand.Rand) int {
	t.Helper()
	ctxOf := func(i int) string { return fmt.Sprintf("L%03d", i) }
	for i := range limitedBuyers {
		ctx := ctxOf(i)
		for k, data := range []map[string]any{
			{"action": "create_checkout", "line_items": []any{map[string]any{"item": map[string]any{"id": "sku_limited"}, "quantity": 1}}},
			{"action": "set_buyer", "buyer": map[string]any{"email": "agent@example.com"}},
			{"action": "set_shipping_address", "address": addresses[0]},
			{"action": "select_shipping_option", "option_id": "std"},
		} {
			r := c.Send("demo", ctx, fmt.Sprintf("%s-%d", ctx, k), data)
			if r.Header.Get("A2A-Status") == "error" {
				t.Fatalf("%s step %d: %s", ctx, k, r.Data)
			}
		}
	}
	replies := make([]*nats.Msg, limitedBuyers)
	var wg sync.WaitGroup
	for i := range limitedBuyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cc := testenv.NewClient(t, g.cluster.URLs())
			cc.Timeout = 60 * time.Second
			ctx := ctxOf(i)
			m, err := cc.Request("demo", ctx, rpc(ctx+"-complete", complete("tok_visa")), nil)
			if err != nil {
				t.Errorf("%s: complete: %v", ctx, err)
				return
			}
			replies[i] = m
		}()
	}
	victim := rng.IntN(3)
	time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
	g.procs[victim].Kill()
	g.procs[victim].Restart()
	wg.Wait()

	sold := map[string]string{} // checkout id → context, of those completed
	for i, m := range replies {
		if m == nil {
			continue
		}
		ctx := ctxOf(i)
		rep, err := envelopes.DecodeReply(m.Data)
		if err != nil || rep.Checkout() == nil {
			t.Errorf("%s: complete: %v %s", ctx, err, m.Data)
			continue
		}
		// The reply and the state agree, and a checkout that was not sold says why.
		r := c.Send("demo", ctx, ctx+"-final", map[string]any{"action": "get_checkout"})
		final, err := envelopes.DecodeReply(r.Data)
		if err != nil || final.Checkout() == nil {
			t.Errorf("%s: final read: %v %s", ctx, err, r.Data)
			continue
		}
		got, fin := rep.Checkout().Status, final.Checkout().Status
		if got != fin {
			t.Errorf("%s: completion answered %s, the checkout is %s", ctx, got, fin)
		}
		switch {
		case got == "completed":
			sold[final.Checkout().ID] = ctx
		case !strings.Contains(string(m.Data), "out_of_stock"):
			t.Errorf("%s: neither completed nor out of stock: %s", ctx, m.Data)
		}
	}
	if len(sold) != limitedStock {
		t.Errorf("%d of %d buyers completed with %d units in stock: want exactly %d", len(sold), limitedBuyers, limitedStock, limitedStock)
	}
	all := map[string]int64{"sku_limited": limitedStock}
	checkStockBucket(t, c.JetStream(), all, all, sold, g.trail)
	return len(sold)
}
