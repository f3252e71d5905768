package bus_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/testenv"
)

// TestSIGKILLMidStream runs the real binary, publishes a stream of envelopes over many
// contexts, and SIGKILLs the worker three times while it works, restarting it on the
// same data. Every envelope must end with exactly one reply, and every context's
// checkout must hold what its envelopes say.
func TestSIGKILLMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary for several seconds")
	}
	n := testenv.StartTestNATS(t)
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"--nats-url", n.URL(), "--data", data, "--http-listen", "127.0.0.1:0", "--partitions", "4"}
	proc := testenv.StartServe(t, args...)
	c := testenv.NewClient(t, n.URL())

	const contexts, perContext = 40, 25 // 1 create + 24 add_item each: 1000 envelopes
	want := map[string]map[string]int{}
	items := []string{"sku_tee", "sku_mug", "sku_gift"}
	type env struct {
		ctx, id string
		body    []byte
	}
	var all []env
	for i := 0; i < contexts; i++ {
		ctx := fmt.Sprintf("k%02d", i)
		want[ctx] = map[string]int{}
		all = append(all, env{ctx, ctx + "-0", testenv.Envelope(ctx+"-0", "", map[string]any{"action": "create_checkout"})})
		for j := 1; j < perContext; j++ {
			item := items[(i+j)%len(items)]
			q := 1 + (i*j)%3
			want[ctx][item] += q
			id := fmt.Sprintf("%s-%d", ctx, j)
			all = append(all, env{ctx, id, testenv.Envelope(id, "", map[string]any{"action": "add_item", "item_id": item, "quantity": q})})
		}
	}
	// Interleave contexts the way concurrent agents would.
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]env, 0, len(all))
	next := make([]int, contexts)
	for len(order) < len(all) {
		i := rng.IntN(contexts)
		if next[i] < perContext {
			order = append(order, all[i*perContext+next[i]])
			next[i]++
		}
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, e := range order {
			if _, err := c.Publish("demo", e.ctx, e.body, nil); err != nil {
				t.Errorf("publish %s: %v", e.id, err)
				return
			}
			if i%50 == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()
	for k := 0; k < 3; k++ {
		time.Sleep(time.Duration(150+rng.IntN(250)) * time.Millisecond)
		proc.Kill()
		proc.Restart()
	}
	wg.Wait()

	// Wait for a reply to every envelope, reading A2A_OUT.
	replies := collectReplies(t, c.JetStream(), len(all), 60*time.Second)
	defer func() {
		if t.Failed() {
			t.Logf("the worker's last run:\n%s", proc.Output())
		}
	}()
	for _, e := range all {
		if n := replies[e.id]; n != 1 {
			t.Errorf("%s: %d replies, want 1", e.id, n)
		}
	}
	if len(replies) != len(all) {
		t.Errorf("%d distinct replies for %d envelopes", len(replies), len(all))
	}
	// Every context holds exactly what its envelopes added: nothing lost, nothing twice.
	for ctx, items := range want {
		m := c.Send("demo", ctx, ctx+"-check", map[string]any{"action": "get_checkout"})
		got := quantities(t, decode(t, m))
		for item, q := range items {
			if got[item] != q {
				t.Errorf("%s: %s x%d, want x%d", ctx, item, got[item], q)
			}
		}
	}
	if err := proc.Terminate(); err != nil {
		t.Error(err)
	}
}

// collectReplies reads the reply stream until it holds want replies or the time is up,
// and counts the replies per A2A-Message-Id.
func collectReplies(t *testing.T, js jetstream.JetStream, want int, within time.Duration) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		s, err := js.Stream(ctx, "A2A_OUT")
		if err == nil {
			if info, err := s.Info(ctx); err == nil && int(info.State.Msgs) >= want {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Errorf("reply stream did not reach %d messages in %s", want, within)
			return countReplies(t, js)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return countReplies(t, js)
}

func countReplies(t *testing.T, js jetstream.JetStream) map[string]int {
	t.Helper()
	ctx := context.Background()
	cons, err := js.OrderedConsumer(ctx, "A2A_OUT", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := int(info.NumPending)
	counts := map[string]int{}
	for read := 0; read < total; {
		b, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range b.Messages() {
			read++
			counts[m.Headers().Get("A2A-Message-Id")]++
		}
	}
	return counts
}
