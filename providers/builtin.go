package providers

import (
	"errors"
	"fmt"

	"github.com/cartwright-dev/cartwright/commerce"
)

// CatalogItem is an item the built-in catalog sells.
type CatalogItem struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
	Price int64  `yaml:"price"` // minor units
	// Digital items need no shipping.
	Digital bool `yaml:"digital"`
	// Stock is how many can be sold; nil means unlimited (not counted).
	Stock *int64 `yaml:"stock"`
}

// ShippingRate is one way to ship.
type ShippingRate struct {
	ID     string `yaml:"id"`
	Title  string `yaml:"title"`
	Amount int64  `yaml:"amount"`
	// FreeFrom makes the rate free when the discounted subtotal is at least FreeFrom;
	// 0 means never.
	FreeFrom int64 `yaml:"free_from"`
	// Countries limits the rate to these ISO country codes (any case); empty offers it
	// wherever the tenant ships.
	Countries []string `yaml:"countries"`
	// FreeItems makes the rate free when every item shipped is one of these.
	FreeItems []string `yaml:"free_items"`
	// FreeTitle is the rate's title when it is free (by FreeFrom or FreeItems); empty
	// keeps Title.
	FreeTitle string `yaml:"free_title"`
}

// TaxRate is the tax of a country, or of one region of it.
type TaxRate struct {
	Country string `yaml:"country"` // ISO 3166-1 alpha-2
	// Region is the address_region it applies to; empty for the whole country.
	Region      string `yaml:"region"`
	BasisPoints int64  `yaml:"basis_points"` // 825 = 8.25 %
}

// DiscountCode is a code a buyer may apply: Percent % of the subtotal, or a fixed Amount.
type DiscountCode struct {
	Code    string `yaml:"code"`
	Title   string `yaml:"title"`
	Percent int64  `yaml:"percent"`
	Amount  int64  `yaml:"amount"`
}

// Builtin is a tenant's commerce data for the built-in providers.
type Builtin struct {
	Items []CatalogItem `yaml:"items"`
	// ShipTo lists the ISO country codes shipped to; empty ships everywhere.
	ShipTo    []string       `yaml:"ship_to"`
	Shipping  []ShippingRate `yaml:"shipping"`
	TaxRates  []TaxRate      `yaml:"tax_rates"`
	Discounts []DiscountCode `yaml:"discounts"`
}

// Wire returns env with its Catalog, Inventory, Shipping, Tax and Discounts set to the
// built-in providers over b. Payments (and everything else) is left as it was.
func (b Builtin) Wire(env commerce.Env) commerce.Env {
	catalog := NewCatalog(b.Items)
	env.Catalog = catalog
	env.Inventory = catalog
	env.Shipping = NewShipping(b.ShipTo, b.Shipping)
	env.Tax = NewTax(b.TaxRates)
	env.Discounts = NewDiscounts(b.Discounts)
	return env
}

// Validate reports every problem with b at once.
func (b Builtin) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	items := map[string]bool{}
	for i, it := range b.Items {
		switch {
		case it.ID == "":
			bad("items[%d].id is empty", i)
		case items[it.ID]:
			bad("items[%d].id %q is a duplicate", i, it.ID)
		}
		items[it.ID] = true
		switch {
		case it.Price < 0:
			bad("items[%d].price %d is negative", i, it.Price)
		case it.Price > commerce.MaxPrice:
			bad("items[%d].price %d of %q is more than %d, the largest price", i, it.Price, it.ID, int64(commerce.MaxPrice))
		}
		if it.Stock != nil && *it.Stock < 0 {
			bad("items[%d].stock %d is negative", i, *it.Stock)
		}
	}
	for i, c := range b.ShipTo {
		if len(c) != 2 {
			bad("ship_to[%d] %q is not an ISO 3166-1 alpha-2 country code", i, c)
		}
	}
	rates := map[string]bool{}
	for i, r := range b.Shipping {
		switch {
		case r.ID == "":
			bad("shipping[%d].id is empty", i)
		case rates[r.ID]:
			bad("shipping[%d].id %q is a duplicate", i, r.ID)
		}
		rates[r.ID] = true
		for k, id := range r.FreeItems {
			if id == "" {
				bad("shipping[%d].free_items[%d] is empty", i, k)
			}
		}
		for k, c := range r.Countries {
			if len(c) != 2 {
				bad("shipping[%d].countries[%d] %q is not an ISO 3166-1 alpha-2 country code", i, k, c)
			}
		}
		if r.Amount < 0 || r.FreeFrom < 0 {
			bad("shipping[%d]: amount and free_from must not be negative", i)
		} else if r.Amount > commerce.MaxPrice {
			bad("shipping[%d].amount %d of %q is more than %d, the largest amount of an option", i, r.Amount, r.ID, int64(commerce.MaxPrice))
		}
	}
	for i, t := range b.TaxRates {
		if len(t.Country) != 2 {
			bad("tax_rates[%d].country %q is not an ISO 3166-1 alpha-2 country code", i, t.Country)
		}
		if t.BasisPoints < 0 || t.BasisPoints > 10000 {
			bad("tax_rates[%d].basis_points %d is not between 0 and 10000", i, t.BasisPoints)
		}
	}
	codes := map[string]bool{}
	for i, d := range b.Discounts {
		key := normCode(d.Code)
		switch {
		case d.Code == "":
			bad("discounts[%d].code is empty", i)
		case codes[key]:
			bad("discounts[%d].code %q is a duplicate", i, d.Code)
		}
		codes[key] = true
		switch {
		case d.Percent < 0 || d.Percent > 100:
			bad("discounts[%d].percent %d is not between 0 and 100", i, d.Percent)
		case d.Amount < 0:
			bad("discounts[%d].amount %d is negative", i, d.Amount)
		case d.Amount > commerce.MaxPrice:
			bad("discounts[%d].amount %d of %q is more than %d, the largest fixed discount", i, d.Amount, d.Code, int64(commerce.MaxPrice))
		case d.Percent > 0 && d.Amount > 0:
			bad("discounts[%d]: set percent or amount, not both", i)
		case d.Percent == 0 && d.Amount == 0:
			bad("discounts[%d]: set percent or amount", i)
		}
	}
	return errors.Join(errs...)
}
