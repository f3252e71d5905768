package commerce

import "slices"

// sameCheckout reports whether a and b are the same checkout but for UpdatedAt, and but
// for Messages being nil in one and empty in the other. Otherwise it answers as
// reflect.DeepEqual would (a nil slice is not an empty one, pointers are compared by what
// they point at, times by their fields), without its allocations: it runs for every
// change. A field added to Checkout, or to a type it holds, must be compared here too;
// TestSameCheckoutSeesEveryField fails until it is.
func sameCheckout(a, b *Checkout) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.Messages) != 0 || len(b.Messages) != 0 {
		if !sameSlice(a.Messages, b.Messages) {
			return false
		}
	}
	return a.ID == b.ID && a.Status == b.Status && a.Currency == b.Currency &&
		sameLines(a.LineItems, b.LineItems) &&
		sameBuyer(a.Buyer, b.Buyer) &&
		samePtr(a.Context, b.Context) &&
		sameFulfillment(&a.Fulfillment, &b.Fulfillment) &&
		sameSlice(a.Discounts.Codes, b.Discounts.Codes) &&
		sameSlice(a.Discounts.Applied, b.Discounts.Applied) &&
		sameSlice(a.Totals, b.Totals) &&
		a.CreatedAt == b.CreatedAt && a.ExpiresAt == b.ExpiresAt &&
		a.ContinueURL == b.ContinueURL &&
		samePtr(a.Order, b.Order) &&
		a.NextLine == b.NextLine &&
		sameSlice(a.UsedMandates, b.UsedMandates)
}

// sameSlice is reflect.DeepEqual for slices of comparable values: nil equals only nil.
func sameSlice[T comparable](a, b []T) bool {
	return (a == nil) == (b == nil) && slices.Equal(a, b)
}

// samePtr is reflect.DeepEqual for pointers to comparable values.
func samePtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameLines(a, b []LineItem) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.ID != y.ID || x.Item != y.Item || x.Quantity != y.Quantity || !sameSlice(x.Totals, y.Totals) {
			return false
		}
	}
	return true
}

func sameBuyer(a, b *Buyer) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.FirstName == b.FirstName && a.LastName == b.LastName && a.Email == b.Email &&
		a.PhoneNumber == b.PhoneNumber && a.CustomerID == b.CustomerID && sameConsent(a.Consent, b.Consent)
}

func sameConsent(a, b *Consent) bool {
	if a == nil || b == nil {
		return a == b
	}
	return samePtr(a.Analytics, b.Analytics) && samePtr(a.Preferences, b.Preferences) &&
		samePtr(a.Marketing, b.Marketing) && samePtr(a.SaleOfData, b.SaleOfData)
}

func sameFulfillment(a, b *Fulfillment) bool {
	return samePtr(a.Address, b.Address) && sameSlice(a.Destinations, b.Destinations) &&
		a.DestinationID == b.DestinationID && a.Requested == b.Requested &&
		sameSlice(a.Options, b.Options) && a.SelectedOptionID == b.SelectedOptionID
}
