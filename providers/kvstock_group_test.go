package providers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// groupProcs starts k worker processes of the built binary against n, each with its own
// data directory, with the configuration conf (YAML, "" for none) and any extra flags.
func groupProcs(t *testing.T, n *testenv.NATS, k int, conf string, extra ...string) []*testenv.Proc {
	t.Helper()
	var cfgArgs []string
	if conf != "" {
		path := filepath.Join(t.TempDir(), "cartwright.yaml")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cfgArgs = []string{"--config", path}
	}
	var ps []*testenv.Proc
	for i := range k {
		id := fmt.Sprintf("w-%c", 'a'+i)
		args := append([]string{"--nats-url", n.URL(), "--data", filepath.Join(t.TempDir(), id),
			"--http-listen", "127.0.0.1:0", "--partitions", "6", "--worker-id", id}, cfgArgs...)
		ps = append(ps, testenv.StartServe(t, append(args, extra...)...))
	}
	// Every worker serves at least one partition: the buyers' contexts reach all of them.
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range ps {
		for !strings.Contains(p.Output(), "partition acquired") {
			if time.Now().After(deadline) {
				t.Fatalf("a worker owns no partition after 30s:\n%s", p.Output())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return ps
}

// capBuyers prepares k checkouts of one Canvas Cap (stock 5 in the demo tenant), each in
// its own context, ready to complete.
func capBuyers(t *testing.T, c *testenv.Client, tag string, k int) []string {
	t.Helper()
	return itemBuyers(t, c, tag, "sku_cap", k)
}

// itemBuyers prepares k checkouts of one unit of item, each in its own context.
func itemBuyers(t *testing.T, c *testenv.Client, tag, item string, k int) []string {
	t.Helper()
	var ctxs []string
	for i := range k {
		ctx := fmt.Sprintf("%s%02d", tag, i)
		for j, data := range []map[string]any{
			{"action": "create_checkout", "line_items": []any{map[string]any{"item": map[string]any{"id": item}, "quantity": 1}},
				"buyer": map[string]any{"email": "b@example.com"}},
			{"action": "set_shipping_address", "address": map[string]any{"street_address": "1 A St", "address_locality": "Austin",
				"address_region": "TX", "postal_code": "73301", "address_country": "US"}},
			{"action": "select_shipping_option", "option_id": "std"},
		} {
			r := decodeReply(t, c.Send("demo", ctx, fmt.Sprintf("%s-%d", ctx, j), data))
			if r.Error != nil {
				t.Fatalf("%s step %d: %+v", ctx, j, r.Error)
			}
		}
		ctxs = append(ctxs, ctx)
	}
	return ctxs
}

// capOutcome is what a completion did.
type capOutcome struct {
	ctx, status string
	outOfStock  bool
	order       string
}

// completeAll completes every checkout at the same moment, with message ids ending in
// tag; an envelope whose reply does not come within the client's timeout is sent again
// with the same id (a redelivery, as an agent retries).
func completeAll(t *testing.T, c *testenv.Client, ctxs []string, tag string) []capOutcome {
	t.Helper()
	out := make([]capOutcome, len(ctxs))
	var wg sync.WaitGroup
	for i, ctx := range ctxs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var data []byte
			for try := 0; ; try++ {
				m, err := c.Request("demo", ctx, testenv.Envelope(ctx+"-"+tag, "", completeData("tok_visa")), nil)
				if err == nil {
					data = m.Data
					break
				}
				if try == 3 {
					t.Errorf("%s: no reply: %v", ctx, err)
					return
				}
			}
			var r struct {
				Result struct {
					Parts []struct {
						Data map[string]json.RawMessage `json:"data"`
					} `json:"parts"`
				} `json:"result"`
			}
			json.Unmarshal(data, &r)
			if len(r.Result.Parts) == 0 {
				t.Errorf("%s: %s", ctx, data)
				return
			}
			var co struct {
				Status   string `json:"status"`
				Messages []struct {
					Code string `json:"code"`
				} `json:"messages"`
				Order *struct {
					ID string `json:"id"`
				} `json:"order"`
			}
			json.Unmarshal(r.Result.Parts[0].Data["a2a.ucp.checkout"], &co)
			o := capOutcome{ctx: ctx, status: co.Status}
			for _, msg := range co.Messages {
				o.outOfStock = o.outOfStock || msg.Code == "out_of_stock"
			}
			if co.Order != nil {
				o.order = co.Order.ID
			}
			out[i] = o
		}()
	}
	wg.Wait()
	return out
}

// tally counts completions and out_of_stock refusals, failing on anything else.
func tally(t *testing.T, res []capOutcome) (done []capOutcome, short []capOutcome) {
	t.Helper()
	for _, o := range res {
		switch {
		case o.status == "completed":
			done = append(done, o)
		case o.outOfStock:
			short = append(short, o)
		case o.ctx != "":
			t.Errorf("%s: status %s without out_of_stock", o.ctx, o.status)
		}
	}
	return done, short
}

// checkLastUnits completes 20 buyers of the cap (stock 5) on the group at once: exactly 5
// complete and 15 are refused out_of_stock. Then the 5 orders are canceled and the 15
// refused try again: exactly 5 of them complete, so nothing was stranded.
func checkLastUnits(t *testing.T, c *testenv.Client, ps []*testenv.Proc, during func()) {
	t.Helper()
	ctxs := capBuyers(t, c, "cap", 20)
	var res []capOutcome
	t0 := time.Now()
	defer func() { t.Logf("the 20 completions were answered within %s", time.Since(t0).Round(time.Millisecond)) }()
	if during != nil {
		ch := make(chan []capOutcome)
		go func() { ch <- completeAll(t, c, ctxs, "pay") }()
		during()
		res = <-ch
	} else {
		res = completeAll(t, c, ctxs, "pay")
	}
	done, short := tally(t, res)
	if len(done) != 5 || len(short) != 15 {
		for _, p := range ps {
			t.Logf("worker:\n%s", tail(p.Output(), 30))
		}
		dumpStock(t, c)
		for _, o := range res {
			t.Logf("%s: %s out_of_stock=%v", o.ctx, o.status, o.outOfStock)
		}
		t.Fatalf("completed %d, out of stock %d across %d workers; want 5 and 15", len(done), len(short), len(ps))
	}
	for _, o := range done {
		r := decodeReply(t, c.Send("demo", o.ctx, o.ctx+"-cancel", map[string]any{"action": "cancel_order", "order_id": o.order}))
		if r.Error != nil {
			t.Fatalf("%s cancel_order: %+v", o.ctx, r.Error)
		}
	}
	var again []string
	for _, o := range short {
		again = append(again, o.ctx)
	}
	done2, short2 := tally(t, completeAll(t, c, again, "pay2"))
	if len(done2) != 5 || len(short2) != 10 {
		t.Fatalf("after the 5 orders were canceled: completed %d, out of stock %d; want 5 and 10 (units stranded or sold twice)",
			len(done2), len(short2))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestGroupLastUnits: three worker processes against one NATS, with the defaults of a
// group (--nats-url) and the changelog on: 20 buyers spread over the partitions of all
// three compete for the last 5 caps. The group sells exactly 5, and a canceled order's
// unit goes back to the group.
func TestGroupLastUnits(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	n := testenv.StartTestNATS(t)
	ps := groupProcs(t, n, 3, "changelog: true\n")
	c := testenv.NewClient(t, n.URL())
	c.Timeout = 30 * time.Second
	checkLastUnits(t, c, ps, nil)
	// The 5 caps sold at the end are in the partitions' allotments, none left over.
	if rem, allot := bucketItem(t, c, "sku_cap"); rem != 0 || allot != 5 {
		t.Errorf("bucket: remaining %d, allotted %d; want 0 and 5", rem, allot)
	}
}

// bucketItem reads an item's remaining stock and the sum of the partitions' allotments.
func bucketItem(t *testing.T, c *testenv.Client, item string) (remaining, allotted int64) {
	t.Helper()
	kv, err := c.JetStream().KeyValue(context.Background(), "A2A_STOCK")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(context.Background(), "demo.item."+item)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Remaining int64                        `json:"remaining"`
		Allot     map[string]struct{ N int64 } `json:"allot"`
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		t.Fatal(err)
	}
	for _, a := range v.Allot {
		allotted += a.N
	}
	return v.Remaining, allotted
}

// stock: store with --nats-url is what a single worker on a NATS of its own may want, but
// in a group it oversells: the worker says so when it starts.
func TestGroupStoreStockWarns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	n := testenv.StartTestNATS(t)
	p := groupProcs(t, n, 1, "stock: store\n")[0]
	if !strings.Contains(p.Output(), "each worker counts the stock alone") {
		t.Fatalf("no warning for stock: store with --nats-url:\n%s", p.Output())
	}
	if !strings.Contains(p.Output(), `"stock":"store"`) {
		t.Fatalf("stock not store:\n%s", p.Output())
	}
}

// ownsEach waits until every worker owns want[i] partitions.
func ownsEach(t *testing.T, within time.Duration, want []int, ws ...*testenv.Worker) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var got []int
		for _, w := range ws {
			got = append(got, len(w.Worker.Owned()))
			if w.Worker.Running() != len(w.Worker.Owned()) {
				got[len(got)-1] = -1 // a loop still starting or ending
			}
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("partitions owned %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A worker that takes partitions over (restored from the changelog) counts the stock
// their checkouts hold: with stock: store, what is held is read back from the restored
// counters, and a cancel on the new owner gives its unit back.
//
// With the bucket (allotments), the new owner sells from the partitions' allotments it
// claimed, and once every order is canceled every unit is back in the bucket or in an
// allotment, spare: none lost, none counted twice.
func TestTakeoverCountsRestoredStock(t *testing.T) {
	for _, where := range []string{config.StockStore, config.StockBucket} {
		t.Run(where, func(t *testing.T) { testTakeoverCounts(t, where) })
	}
}

func testTakeoverCounts(t *testing.T, where string) {
	n := testenv.StartTestNATS(t)
	ws := testenv.StartGroupWorkers(t, n, &config.Config{Changelog: true, Stock: where}, "w-a", "w-b")
	a, b := ws[0], ws[1]
	ownsEach(t, 20*time.Second, []int{2, 2}, a, b)
	c := testenv.NewClient(t, n.URL())
	res := completeAll(t, c, itemBuyers(t, c, "tee", "sku_tee", 8), "pay")
	done, _ := tally(t, res)
	if len(done) != 8 {
		t.Fatalf("%d of 8 completed", len(done))
	}
	heldA, heldB := a.Stock.Held("demo", "sku_tee"), b.Stock.Held("demo", "sku_tee")
	if heldA+heldB != 8 || heldA == 0 {
		t.Fatalf("held %d on w-a and %d on w-b, want 8 between them, some on w-a", heldA, heldB)
	}
	a.Stop() // hands its partitions over: w-b restores them
	ownsEach(t, 20*time.Second, []int{4}, b)
	if got := b.Stock.Held("demo", "sku_tee"); got != 8 {
		t.Fatalf("w-b after taking w-a's partitions holds %d tees, want 8 (%d of its own, %d restored)", got, heldB, heldA)
	}
	for _, o := range done {
		r := decodeReply(t, c.Send("demo", o.ctx, o.ctx+"-cancel", map[string]any{"action": "cancel_order", "order_id": o.order}))
		if r.Error != nil {
			t.Fatalf("%s cancel_order: %+v", o.ctx, r.Error)
		}
	}
	if got := b.Stock.Held("demo", "sku_tee"); got != 0 {
		t.Fatalf("after every order was canceled w-b holds %d tees, want 0", got)
	}
	if where == config.StockBucket {
		if rem, allot := bucketItem(t, c, "sku_tee"); rem+allot != 1000 {
			t.Fatalf("bucket: remaining %d + allotted %d, want 1000", rem, allot)
		}
		if n, _ := b.Stock.Available("demo", "sku_tee"); n != 1000 {
			t.Fatalf("available %d on w-b, want 1000", n)
		}
	}
}

// A worker killed with SIGKILL while the 20 buyers complete at once, its reservations in
// every state (taken and committed, taken and not committed, not yet taken): the others
// take its partitions over and answer its buyers, and the group still sells exactly 5
// caps and gets back every unit of the 5 orders canceled, none lost or doubled.
func TestGroupLastUnitsKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary")
	}
	n := testenv.StartTestNATS(t)
	ps := groupProcs(t, n, 3, "changelog: true\n")
	c := testenv.NewClient(t, n.URL())
	c.Timeout = 30 * time.Second
	checkLastUnits(t, c, ps, func() {
		time.Sleep(15 * time.Millisecond)
		ps[0].Kill()
	})
	if out := ps[0].Output(); !strings.Contains(out, "partition acquired") {
		t.Fatalf("the killed worker served nothing:\n%s", out)
	}
}

// dumpStock logs the stock bucket's keys, if there is one.
func dumpStock(t *testing.T, c *testenv.Client) {
	ctx := context.Background()
	kv, err := c.JetStream().KeyValue(ctx, "A2A_STOCK")
	if err != nil {
		return
	}
	keys, err := kv.Keys(ctx)
	if err != nil {
		return
	}
	for _, k := range keys {
		if e, err := kv.Get(ctx, k); err == nil {
			t.Logf("stock bucket %s = %s", k, e.Value())
		}
	}
}
