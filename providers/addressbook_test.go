package providers_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

func bookAddress(i int) commerce.Destination {
	a := commerce.Address{StreetAddress: fmt.Sprintf("%d Pine St", i), AddressLocality: "Villagetown",
		AddressRegion: "NY", PostalCode: "10001", AddressCountry: "US"}
	return commerce.Destination{ID: commerce.LearnedID(a), Address: a}
}

// The book keeps a buyer's addresses by email in any case, once each (a save of an
// address kept already writes nothing), at most MaxBookAddresses (the oldest goes), none
// with a field past MaxBookField; two books (two workers) saving for one buyer at once
// keep both; another tenant's book does not see them.
func TestKVAddressBook(t *testing.T) {
	n := testenv.StartTestNATS(t)
	c := testenv.NewClient(t, n.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := providers.AddressBucket(ctx, c.JetStream(), "a2a", 1)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	a, b := providers.NewKVAddressBook(kv, "shop", log), providers.NewKVAddressBook(kv, "shop", log)
	other := providers.NewKVAddressBook(kv, "other", log)

	if err := a.Save(ctx, "Buyer@Example.com", bookAddress(0)); err != nil {
		t.Fatal(err)
	}
	key := providers.BookKey("shop", "buyer@example.com")
	e1, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Save(ctx, "buyer@example.com", bookAddress(0)); err != nil {
		t.Fatal(err)
	}
	if e2, _ := kv.Get(ctx, key); e2.Revision() != e1.Revision() {
		t.Fatalf("saving the same address again wrote revision %d after %d", e2.Revision(), e1.Revision())
	}
	got, _ := b.Addresses(ctx, "BUYER@example.com")
	if len(got) != 1 || got[0] != (commerce.Destination{ID: bookAddress(0).ID, Address: bookAddress(0).Address, Saved: true}) {
		t.Fatalf("addresses %+v, want the one saved", got)
	}
	if got, _ := other.Addresses(ctx, "buyer@example.com"); len(got) != 0 {
		t.Fatalf("another tenant sees %+v", got)
	}

	// Two workers at once, each several addresses: all kept.
	var wg sync.WaitGroup
	for w, book := range []*providers.KVAddressBook{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 3; i++ {
				if err := book.Save(ctx, "buyer@example.com", bookAddress(10*w+i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if got, _ := a.Addresses(ctx, "buyer@example.com"); len(got) != 7 {
		t.Fatalf("after concurrent saves: %d addresses, want 7: %+v", len(got), got)
	}

	// Past the bound the oldest goes.
	for i := 100; i < 100+providers.MaxBookAddresses; i++ {
		if err := a.Save(ctx, "buyer@example.com", bookAddress(i)); err != nil {
			t.Fatal(err)
		}
	}
	got, _ = a.Addresses(ctx, "buyer@example.com")
	if len(got) != providers.MaxBookAddresses || got[0].ID != bookAddress(100).ID {
		t.Fatalf("%d addresses from %+v, want %d from the 100th", len(got), got[0], providers.MaxBookAddresses)
	}

	// A field too long: not kept.
	long := bookAddress(0)
	long.Address.StreetAddress = strings.Repeat("x", providers.MaxBookField+1)
	long.ID = commerce.LearnedID(long.Address)
	if err := a.Save(ctx, "long@example.com", long); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, providers.BookKey("shop", "long@example.com")); err == nil {
		t.Fatal("an address with a field past the bound was kept")
	}

	// The bucket gone: reads give nothing, writes fail; both are counted, not panics.
	if err := c.JetStream().DeleteKeyValue(ctx, "A2A_ADDRESSES"); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Addresses(ctx, "buyer@example.com"); err != nil || len(got) != 0 {
		t.Fatalf("without the bucket: %+v, %v; want none, no error", got, err)
	}
	if err := a.Save(ctx, "buyer@example.com", bookAddress(1)); err == nil {
		t.Fatal("a save without the bucket did not fail")
	}
	if a.Failures() != 2 {
		t.Fatalf("failures %d, want 2", a.Failures())
	}
}
