package commerce

import (
	"fmt"
	"slices"
	"strconv"
)

// linePaths say where problems with a requested line are reported: error paths relative
// to the command's data, and the message path for a line that is not in the checkout yet.
type linePaths struct {
	item     string // the item id ("item_id", "line_items[2].item.id")
	quantity string // the quantity
	count    string // the field that would make the checkout hold too many lines
	msg      string // message path of a new line
}

var addItemPaths = linePaths{item: "item_id", quantity: "quantity", count: "item_id", msg: "$.line_items"}

func (s *step) addItem(c *Checkout, cmd AddItem) error {
	return s.addLine(c, LineItemInput(cmd), addItemPaths)
}

// addLine adds in to c, or raises the quantity of c's line with the same item. An unknown
// item or too little stock is a message and leaves c's lines as they were; a quantity or
// line count over the policy's limits is an error.
func (s *step) addLine(c *Checkout, in LineItemInput, p linePaths) error {
	limits := s.env.Policy
	if in.ItemID == "" {
		return Invalid(p.item, "an item id is required")
	}
	if in.Quantity < 1 || in.Quantity > limits.MaxQuantity {
		return Invalid(p.quantity, "quantity must be between 1 and %d, got %d", limits.MaxQuantity, in.Quantity)
	}
	item, ok, err := s.lookupItem(in.ItemID)
	if err != nil {
		return err
	}
	if !ok {
		addMessage(c, msgItemUnavailable(p.msg, in.ItemID))
		return nil
	}
	i := lineOfItem(c, item.ID)
	want, path := in.Quantity, p.msg
	if i >= 0 {
		want += c.LineItems[i].Quantity
		path = fmt.Sprintf("$.line_items[%d].quantity", i)
		if want > limits.MaxQuantity {
			return Invalid(p.quantity, "the line would hold %d of %s; at most %d per line", want, item.ID, limits.MaxQuantity)
		}
	} else if len(c.LineItems) >= limits.MaxLineItems {
		return Invalid(p.count, "a checkout holds at most %d line items", limits.MaxLineItems)
	}
	if ok, err := s.inStock(c, path, item, want); err != nil || !ok {
		return err
	}
	if i >= 0 {
		c.LineItems[i].Item = item
		c.LineItems[i].Quantity = want
		return nil
	}
	c.LineItems = append(c.LineItems, LineItem{ID: nextLineID(c), Item: item, Quantity: want})
	return nil
}

func (s *step) updateItem(c *Checkout, cmd UpdateItem) error {
	i := lineByID(c, cmd.LineItemID)
	if i < 0 {
		return lineNotFound(cmd.LineItemID)
	}
	max := s.env.Policy.MaxQuantity
	switch {
	case cmd.Quantity == 0:
		c.LineItems = slices.Delete(c.LineItems, i, i+1)
		return nil
	case cmd.Quantity < 0 || cmd.Quantity > max:
		return Invalid("quantity", "quantity must be between 0 and %d, got %d", max, cmd.Quantity)
	}
	line := &c.LineItems[i]
	if ok, err := s.inStock(c, fmt.Sprintf("$.line_items[%d].quantity", i), line.Item, cmd.Quantity); err != nil || !ok {
		return err
	}
	line.Quantity = cmd.Quantity
	return nil
}

func removeItem(c *Checkout, cmd RemoveItem) error {
	i := lineByID(c, cmd.LineItemID)
	if i < 0 {
		return lineNotFound(cmd.LineItemID)
	}
	c.LineItems = slices.Delete(c.LineItems, i, i+1)
	return nil
}

// inStock reports whether want units of item can be sold, adding an out_of_stock message
// at path when they cannot.
func (s *step) inStock(c *Checkout, path string, item Item, want int) (bool, error) {
	n, unlimited, err := s.available(item.ID)
	if err != nil {
		return false, err
	}
	if unlimited || n >= int64(want) {
		return true, nil
	}
	addMessage(c, msgOutOfStock(path, item, want, n))
	return false, nil
}

// nextLineID hands out li_<NextLine>; ids are never reused, even after a line is removed.
func nextLineID(c *Checkout) string {
	if c.NextLine < 1 {
		c.NextLine = 1
	}
	id := "li_" + strconv.Itoa(c.NextLine)
	c.NextLine++
	return id
}

func lineOfItem(c *Checkout, itemID string) int {
	for i, l := range c.LineItems {
		if l.Item.ID == itemID {
			return i
		}
	}
	return -1
}

func lineByID(c *Checkout, id string) int {
	for i, l := range c.LineItems {
		if l.ID == id {
			return i
		}
	}
	return -1
}

func lineNotFound(id string) *Error {
	e := E(KindNotFound, CodeNotFound, "no line item %q in this checkout", id)
	e.Path = "line_item_id"
	return e
}
