package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/cartwright-dev/cartwright/envelopes"
)

// writeTable prints a reply for people: the checkout, the order or the error it carries.
func writeTable(out io.Writer, r *envelopes.Reply) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer w.Flush()
	switch {
	case r.Error != nil:
		errorTable(w, r.Error)
	case r.Checkout() != nil:
		checkoutTable(w, r.Checkout())
	case r.Order() != nil:
		orderTable(w, r.Order())
	default:
		fmt.Fprintln(w, "(the reply carries neither a checkout nor an order)")
	}
}

func errorTable(w io.Writer, e *envelopes.RPCError) {
	code := "internal_error"
	if e.Data != nil && e.Data.Code != "" {
		code = e.Data.Code
	}
	fmt.Fprintf(w, "error\t%s (%d)\n", code, e.Code)
	fmt.Fprintf(w, "message\t%s\n", e.Message)
	if e.Data != nil && e.Data.Path != "" {
		fmt.Fprintf(w, "path\t%s\n", e.Data.Path)
	}
	if e.Data != nil && e.Data.MessageID != "" {
		fmt.Fprintf(w, "message id\t%s\n", e.Data.MessageID)
	}
}

func checkoutTable(w io.Writer, c *envelopes.Checkout) {
	field(w, "checkout", c.ID)
	field(w, "status", c.Status)
	field(w, "currency", c.Currency)
	field(w, "buyer", buyerLine(c.Buyer))
	field(w, "ship to", shipTo(c.Fulfillment))
	field(w, "discounts", strings.Join(c.Discounts.Codes, ", "))
	field(w, "expires", c.ExpiresAt)
	field(w, "continue at", c.ContinueURL)
	if c.Order != nil {
		field(w, "order", strings.TrimSpace(c.Order.ID+" "+c.Order.PermalinkURL))
	}
	linesTable(w, c.LineItems, c.Currency)
	optionsTable(w, c.Fulfillment, c.Currency)
	totalsTable(w, c.Totals, c.Currency)
	if len(c.Messages) > 0 {
		fmt.Fprintln(w, "\nMESSAGE\tCODE\tPATH\tCONTENT")
		for _, m := range c.Messages {
			kind := m.Type
			if m.Severity != "" {
				kind += "/" + m.Severity
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", kind, m.Code, dash(m.Path), m.Content)
		}
	}
}

func orderTable(w io.Writer, o *envelopes.Order) {
	p := o.Payment
	field(w, "order", o.ID)
	field(w, "checkout", o.CheckoutID)
	field(w, "status", o.Status)
	field(w, "currency", o.Currency)
	field(w, "payment", fmt.Sprintf("%s (authorized %s, captured %s, refunded %s; %s %s)", p.Status,
		money(p.Authorized, o.Currency), money(p.Captured, o.Currency), money(p.Refunded, o.Currency), p.HandlerID, p.ID))
	field(w, "buyer", buyerLine(o.Buyer))
	field(w, "ship to", shipTo(o.Fulfillment))
	field(w, "created", o.CreatedAt)
	field(w, "updated", o.UpdatedAt)
	field(w, "permalink", o.PermalinkURL)
	linesTable(w, o.LineItems, o.Currency)
	totalsTable(w, o.Totals, o.Currency)
}

// field prints a name and its value, unless the value is empty.
func field(w io.Writer, name, value string) {
	if value != "" {
		fmt.Fprintf(w, "%s\t%s\n", name, value)
	}
}

func linesTable(w io.Writer, lines []envelopes.LineItem, currency string) {
	if len(lines) == 0 {
		fmt.Fprintln(w, "\n(no line items)")
		return
	}
	fmt.Fprintln(w, "\nLINE\tSKU\tTITLE\tQTY\tPRICE\tAMOUNT")
	for _, l := range lines {
		amount := l.Item.Price * int64(l.Quantity)
		for _, t := range l.Totals {
			if t.Type == "total" {
				amount = t.Amount
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", l.ID, l.Item.ID, l.Item.Title, l.Quantity,
			money(l.Item.Price, currency), money(amount, currency))
	}
}

func optionsTable(w io.Writer, f *envelopes.Fulfillment, currency string) {
	if f == nil {
		return
	}
	for _, m := range f.Methods {
		for _, g := range m.Groups {
			if len(g.Options) == 0 {
				continue
			}
			fmt.Fprintln(w, "\nSHIPPING\tOPTION\tTITLE\tAMOUNT")
			for _, o := range g.Options {
				mark := ""
				if o.ID == g.SelectedOptionID {
					mark = "selected"
				}
				var amount int64
				for _, t := range o.Totals {
					if t.Type == "total" {
						amount = t.Amount
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", dash(mark), o.ID, o.Title, money(amount, currency))
			}
		}
	}
}

func totalsTable(w io.Writer, totals []envelopes.Total, currency string) {
	if len(totals) == 0 {
		return
	}
	fmt.Fprintln(w, "\nTOTAL\tAMOUNT")
	for _, t := range totals {
		fmt.Fprintf(w, "%s\t%s %s\n", t.Type, money(t.Amount, currency), currency)
	}
}

func buyerLine(b *envelopes.Buyer) string {
	if b == nil {
		return ""
	}
	parts := []string{}
	if name := strings.TrimSpace(b.FirstName + " " + b.LastName); name != "" {
		parts = append(parts, name)
	}
	if b.Email != "" {
		parts = append(parts, "<"+b.Email+">")
	}
	if b.PhoneNumber != "" {
		parts = append(parts, b.PhoneNumber)
	}
	return strings.Join(parts, " ")
}

func shipTo(f *envelopes.Fulfillment) string {
	if f == nil {
		return ""
	}
	for _, m := range f.Methods {
		for _, d := range m.Destinations {
			if d.ID != m.SelectedDestinationID && m.SelectedDestinationID != "" {
				continue
			}
			region := strings.TrimSpace(d.AddressRegion + " " + d.PostalCode)
			return strings.Join(nonEmpty(d.StreetAddress, d.AddressLocality, region, d.AddressCountry), ", ")
		}
	}
	return ""
}

func nonEmpty(ss ...string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// money formats an amount of minor units in the currency's major unit: 5371 USD is
// "53.71", 500 JPY is "500".
func money(minor int64, currency string) string {
	digits := minorDigits(currency)
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-minor) // -MinInt64 wraps to itself, which is its magnitude
	}
	s := strconv.FormatUint(u, 10)
	if digits == 0 {
		return sign + s
	}
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	return sign + s[:len(s)-digits] + "." + s[len(s)-digits:]
}

// minorDigits is the number of decimals of an ISO 4217 currency: 2 but for these.
func minorDigits(currency string) int {
	switch strings.ToUpper(currency) {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	case "CLF", "UYW":
		return 4
	}
	return 2
}
