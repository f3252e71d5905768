package providers_test

import (
	"context"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// A release interrupted after it gave the stock back (the worker killed, or the intent's
// delete refused, before the intent was gone) is finished by the retry of the same
// envelope, which reserves again first (the completion that was declined, run again):
// that reservation finds the intent held and must leave its release marker alone, or
// the retry's release gives the units back a second time and the count grows.
func TestKVReleaseInterruptedThenRetried(t *testing.T) {
	ctx := context.Background()
	n := testenv.StartTestNATS(t)
	js := testenv.NewClient(t, n.URL()).JetStream()
	kv, err := providers.StockBucket(ctx, js, "a2a")
	if err != nil {
		t.Fatal(err)
	}
	five := int64(5)
	inv, err := providers.NewKVInventory(ctx, kv, "demo", map[string]*int64{"sku_cap": &five})
	if err != nil {
		t.Fatal(err)
	}
	lines := []commerce.Reservation{{CheckoutID: "chk_x", ItemID: "sku_cap", Quantity: 2}}
	if ok, _, err := inv.Reserve(ctx, "chk_x", lines); !ok || err != nil {
		t.Fatalf("reserve: %v %v", ok, err)
	}
	// The release's first step, as it leaves the item: the two caps back, and its marker.
	e, err := kv.Get(ctx, "demo.item.sku_cap")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(ctx, "demo.item.sku_cap", []byte(`{"remaining":5,"holds":{"chk_x":-2}}`), e.Revision()); err != nil {
		t.Fatal(err)
	}
	// The retry: reserve (the intent is still there, held), then release.
	if ok, _, err := inv.Reserve(ctx, "chk_x", lines); !ok || err != nil {
		t.Fatalf("reserve again: %v %v", ok, err)
	}
	if err := inv.Release(ctx, "chk_x"); err != nil {
		t.Fatal(err)
	}
	e, err = kv.Get(ctx, "demo.item.sku_cap")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(e.Value()); got != `{"remaining":5}` {
		t.Fatalf("after the retried release the item is %s, want 5 remaining and no holds", got)
	}
}
