package commerce

import "fmt"

// Messages are business problems that ride on the checkout (CONTRACT.md section 5). Their
// paths are JSONPaths into the checkout resource, unlike the paths of errors, which point
// into the request.

func addMessage(c *Checkout, m Message) {
	for _, x := range c.Messages {
		if x.Code == m.Code && x.Path == m.Path {
			return
		}
	}
	c.Messages = append(c.Messages, m)
}

func msgItemUnavailable(path, itemID string) Message {
	return Message{
		Type: MessageError, Code: MsgItemUnavailable, Path: path, Severity: SeverityRequiresBuyerInput,
		Content: fmt.Sprintf("Item %q is not available.", itemID),
	}
}

func msgOutOfStock(path string, item Item, want int, have int64) Message {
	content := fmt.Sprintf("%s is out of stock.", item.Title)
	if have > 0 {
		content = fmt.Sprintf("Only %d of %s left in stock; %d requested.", have, item.Title, want)
	}
	return Message{
		Type: MessageError, Code: MsgOutOfStock, Path: path, Severity: SeverityRequiresBuyerInput,
		Content: content,
	}
}

func msgUndeliverable(a Address) Message {
	return Message{
		Type: MessageError, Code: MsgAddressUndeliverable, Path: "$.fulfillment", Severity: SeverityRequiresBuyerInput,
		Content: fmt.Sprintf("We cannot ship to %s.", countryOrUnknown(a.AddressCountry)),
	}
}

// msgAddressIncomplete holds a checkout whose chosen address is partial back from
// completion: its options are priced, it cannot be shipped to yet.
func msgAddressIncomplete() Message {
	return Message{
		Type: MessageError, Code: MsgAddressIncomplete, Path: "$.fulfillment", Severity: SeverityRecoverable,
		Content: "The shipping address needs a street address, a locality and a postal code before the checkout can complete.",
	}
}

func msgDiscountInvalid(path, code string) Message {
	return Message{
		Type: MessageWarning, Code: MsgDiscountInvalid, Path: path, Severity: SeverityRecoverable,
		Content: fmt.Sprintf("Discount code %q is not valid.", code),
	}
}

func msgDiscountCombination(path, code, applied string) Message {
	return Message{
		Type: MessageWarning, Code: MsgDiscountCombination, Path: path, Severity: SeverityRecoverable,
		Content: fmt.Sprintf("Discount code %q cannot be combined with %q; only one code applies.", code, applied),
	}
}

func msgDiscountTooMany(path, code string, max int) Message {
	return Message{
		Type: MessageWarning, Code: MsgDiscountCombination, Path: path, Severity: SeverityRecoverable,
		Content: fmt.Sprintf("Discount code %q was not applied: at most %d codes combine.", code, max),
	}
}

func msgPaymentFailed(reason string) Message {
	if reason == "" {
		reason = "declined"
	}
	return Message{
		Type: MessageError, Code: MsgPaymentFailed, Path: "$.payment", Severity: SeverityRequiresBuyerInput,
		Content: "Payment failed: " + reason + ".",
	}
}

func msgEscalation(url string) Message {
	return Message{
		Type: MessageInfo, Code: MsgEscalation, Path: "$.continue_url", Severity: SeverityRequiresBuyerReview,
		Content: "The total exceeds what an agent may spend; a person must complete this checkout at " + url + ".",
	}
}

func countryOrUnknown(c string) string {
	if c == "" {
		return "an address without a country"
	}
	return c
}
