package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// partitionOf is the partition the inbound stream's subject transform puts an envelope of
// tenant and context in ({{partition(n,1,2)}}: FNV-32a of the two tokens, modulo n).
func partitionOf(tenant, contextID string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(tenant + contextID))
	return int(h.Sum32() % uint32(n))
}

// ownerOf returns the worker that runs partition p, waiting for the group to settle.
func ownerOf(t *testing.T, p int, ws ...*testenv.Worker) *testenv.Worker {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var own []*testenv.Worker
		for _, w := range ws {
			if slices.Contains(w.Worker.Owned(), p) {
				own = append(own, w)
			}
		}
		if len(own) == 1 {
			return own[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition %d owned by %d workers", p, len(own))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var destID = regexp.MustCompile(`"id":"(addr_[0-9a-f]+)"`)

// A buyer (by email) who sends a new address in one checkout is offered it, by the same
// id, in a later checkout in another context, in a partition another worker of the group
// runs; the address book is the tenant's, in the shared bucket, keyed by a hash of the
// email. A tenant without address_book offers nothing of the kind.
func TestAddressBookAcrossPartitionsAndWorkers(t *testing.T) {
	n := testenv.StartTestNATS(t)
	learner := config.Demo()
	learner.AddressBook = config.AddressBookBucket
	cfg := &config.Config{Tenants: map[string]*config.Tenant{"learner": learner, "plain": config.Demo()}}
	ws := testenv.StartGroupWorkers(t, n, cfg, "w-a", "w-b")
	const partitions = 4

	// Two contexts in partitions that different workers run.
	first := "book-first"
	pa := partitionOf("learner", first, partitions)
	wa := ownerOf(t, pa, ws...)
	second := ""
	for i := range 100 {
		c := fmt.Sprintf("book-second-%d", i)
		if p := partitionOf("learner", c, partitions); p != pa && ownerOf(t, p, ws...) != wa {
			second = c
			break
		}
	}
	if second == "" {
		t.Fatal("no context in a partition of the other worker")
	}

	email := "New.User.7@Example.com"
	address := map[string]any{"street_address": "789 Pine St", "address_locality": "Villagetown",
		"address_region": "NY", "postal_code": "10001", "address_country": "US"}
	checkout := func(dests []any) map[string]any {
		m := map[string]any{"type": "shipping"}
		if dests != nil {
			m["destinations"] = dests
		}
		return map[string]any{"a2a.ucp.checkout": map[string]any{
			"line_items":  []any{map[string]any{"item": map[string]any{"id": "sku_mug"}, "quantity": 1}},
			"buyer":       map[string]any{"email": email},
			"fulfillment": map[string]any{"methods": []any{m}},
		}}
	}
	c := testenv.NewClient(t, n.URL())
	send := func(tenant, ctxID, msgID string, data any) string {
		t.Helper()
		m := c.Send(tenant, ctxID, msgID, data)
		if strings.Contains(string(m.Data), `"error"`) {
			t.Fatalf("%s: %s", msgID, m.Data)
		}
		return string(m.Data)
	}

	// The first checkout: the address sent without an id gets the id it is kept under.
	r1 := send("learner", first, "first-1", checkout([]any{address}))
	ids := destID.FindAllStringSubmatch(r1, -1)
	if len(ids) != 1 {
		t.Fatalf("first checkout: %d destination ids, want 1: %s", len(ids), r1)
	}
	id := ids[0][1]

	// The second, another context in another worker's partition, same email in another
	// case, asks for shipping without a destination: it is offered the first's address.
	email = strings.ToLower(email)
	r2 := send("learner", second, "second-1", checkout(nil))
	if !strings.Contains(r2, `"id":"`+id+`"`) || !strings.Contains(r2, "789 Pine St") {
		t.Fatalf("second checkout (worker %s, first on %s) is not offered %s: %s",
			ownerOf(t, partitionOf("learner", second, partitions), ws...).Config.WorkerID, wa.Config.WorkerID, id, r2)
	}

	// The bucket holds one key for the buyer, named by a hash: no email in the key or
	// the value.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := c.JetStream().KeyValue(ctx, "A2A_ADDRESSES")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for k := range keys.Keys() {
		all = append(all, k)
	}
	if want := providers.BookKey("learner", strings.ToLower(email)); !slices.Equal(all, []string{want}) {
		t.Fatalf("keys %v, want [%s]", all, want)
	}
	e, err := kv.Get(ctx, all[0])
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		A []map[string]string `json:"a"`
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil || len(v.A) != 1 || v.A[0]["id"] != id {
		t.Fatalf("value %s (%v), want the one address %s", e.Value(), err, id)
	}
	if strings.Contains(strings.ToLower(string(e.Value())+all[0]), "example.com") {
		t.Fatalf("the email is stored: %s = %s", all[0], e.Value())
	}
	// The same address sent again (a third checkout) is not kept twice.
	send("learner", "book-third", "third-1", checkout([]any{address}))
	if e2, err := kv.Get(ctx, all[0]); err != nil || e2.Revision() != e.Revision() {
		t.Fatalf("the same address again: revision %v (%v), want %d unchanged", e2, err, e.Revision())
	}

	// The bucket gone: a checkout still takes its address (the book's failure is logged,
	// not the checkout's), and a later one is offered nothing, without an error.
	if err := c.JetStream().DeleteKeyValue(ctx, "A2A_ADDRESSES"); err != nil {
		t.Fatal(err)
	}
	if r := send("learner", "book-fourth", "fourth-1", checkout([]any{address})); !strings.Contains(r, `"id":"`+id+`"`) {
		t.Fatalf("without the bucket: %s", r)
	}
	if r := send("learner", "book-fifth", "fifth-1", checkout(nil)); strings.Contains(r, "789 Pine St") {
		t.Fatalf("without the bucket, offered: %s", r)
	}
	failures := map[string]float64{}
	for _, w := range ws {
		mfs, err := w.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "cartwright_address_book_failures_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					failures[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	// fourth-1 reads (its buyer's addresses, to match the one sent) and writes; fifth-1
	// reads.
	if failures["write"] != 1 || failures["read"] < 2 {
		t.Fatalf("cartwright_address_book_failures_total %v, want 1 write and at least 2 reads", failures)
	}

	// A tenant without an address book: the address sent is not kept, nor offered.
	p1 := send("plain", first, "plain-1", checkout([]any{address}))
	if destID.MatchString(p1) {
		t.Fatalf("plain tenant gave the address a kept id: %s", p1)
	}
	p2 := send("plain", second, "plain-2", checkout(nil))
	if strings.Contains(p2, "789 Pine St") {
		t.Fatalf("plain tenant offered an address it does not keep: %s", p2)
	}
}
