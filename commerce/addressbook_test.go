package commerce_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

// book is an address book in memory, by lower-cased email.
type book map[string][]commerce.Destination

func (b book) Addresses(_ context.Context, email string) ([]commerce.Destination, error) {
	return b[strings.ToLower(email)], nil
}

// With an address book, a complete address sent without an id by a buyer with an email
// is chosen under its LearnedID (commerce.Learned names it for the book); a later
// checkout of the email asking for shipping is offered the kept addresses after the
// configured customer's, one that the configuration has already not repeated. Without
// a book, the same update leaves the address without an id.
func TestAddressBookOffersLearnedAddresses(t *testing.T) {
	pine := commerce.Address{StreetAddress: "789 Pine St", AddressLocality: "Villagetown", AddressRegion: "NY", PostalCode: "10001", AddressCountry: "US"}
	upper := pine
	upper.StreetAddress, upper.AddressLocality = "789 PINE ST", "VILLAGETOWN"
	if commerce.LearnedID(pine) != commerce.LearnedID(upper) || !strings.HasPrefix(commerce.LearnedID(pine), "addr_") {
		t.Fatalf("LearnedID %s and %s", commerce.LearnedID(pine), commerce.LearnedID(upper))
	}
	other := pine
	other.PostalCode = "10002"
	if commerce.LearnedID(pine) == commerce.LearnedID(other) {
		t.Fatal("two addresses share a LearnedID")
	}

	send := func(h *harness, email string, a *commerce.Address) *commerce.Checkout {
		up := roses()
		up.Update.Buyer = &commerce.Buyer{Email: email}
		up.Update.ShippingRequested = true
		up.Update.Address = a
		return h.must(up).Checkout
	}

	plain := shopHarness(t)
	c := send(plain, "new@example.com", &pine)
	if c.Fulfillment.DestinationID != "" {
		t.Fatalf("without a book: %+v", c.Fulfillment)
	}
	if _, _, ok := commerce.Learned(c); ok {
		t.Fatal("without a book, Learned names an address")
	}

	h := shopHarness(t)
	kept := book{}
	h.env.Addresses = kept
	c = send(h, "New@Example.com", &pine)
	id := commerce.LearnedID(pine)
	if f := c.Fulfillment; f.DestinationID != id || len(f.Destinations) != 1 || f.Destinations[0].ID != id {
		t.Fatalf("with a book: %+v", f)
	}
	email, d, ok := commerce.Learned(c)
	if !ok || email != "New@Example.com" || d.ID != id || d.Address != pine {
		t.Fatalf("Learned: %q %+v %v", email, d, ok)
	}
	kept["new@example.com"] = []commerce.Destination{{ID: id, Address: pine, Saved: true}}

	// A later checkout (a fresh harness: another context) of the same email.
	h2 := shopHarness(t)
	h2.env.Addresses = kept
	c = send(h2, "NEW@example.com", nil)
	if f := c.Fulfillment; len(f.Destinations) != 1 || f.Destinations[0].ID != id || !f.Destinations[0].Saved || f.Address != nil {
		t.Fatalf("later checkout: %+v", f)
	}
	// An incomplete address is not given a kept id.
	partial := commerce.Address{AddressCountry: "US", PostalCode: "10001"}
	if c = send(h2, "new@example.com", &partial); c.Fulfillment.DestinationID != "" {
		t.Fatalf("partial address: %+v", c.Fulfillment)
	}

	// A known customer: the configured addresses first, then the kept ones, without the
	// one the configuration has already.
	home := commerce.Address{StreetAddress: "123 Main St", AddressLocality: "Springfield", AddressRegion: "IL", PostalCode: "62704", AddressCountry: "US"}
	kept["john.doe@example.com"] = []commerce.Destination{{ID: commerce.LearnedID(home), Address: home, Saved: true}, {ID: id, Address: pine, Saved: true}}
	c = send(h2, "john.doe@example.com", nil)
	var ids []string
	for _, d := range c.Fulfillment.Destinations {
		ids = append(ids, d.ID)
	}
	if strings.Join(ids, ",") != "addr_1,addr_2,"+id {
		t.Fatalf("known customer offered %v", ids)
	}
}
