package envelopes

// Fulfillment is UCP's fulfillment extension on a checkout:
//
//	fulfillment.methods[0]                      type "shipping", the lines that need shipping
//	  ├─ destinations[0]                        the shipping address (id "dest_1")
//	  ├─ selected_destination_id = "dest_1"
//	  └─ groups[0]                              one package for all of those lines
//	       ├─ options[]                         each {id, title, totals}
//	       └─ selected_option_id
//
// cartwright ships everything in one package to one address, so there is at most one
// method and one group. The destinations are those the agent sent, with its ids, or, when
// it sent none, the saved addresses of a known customer; an address set without an id
// (set_shipping_address) is dest_1. A method with none (shipping asked for, nothing to
// offer yet) has no destinations field: UCP's method does not require one. A partial
// address (a UCP destination may send only its country and postal code) carries only the
// fields it has. The UCP form reads this shape back.
type Fulfillment struct {
	Methods []FulfillmentMethod `json:"methods"`
	// Events is an order's fulfillment log (UCP's order fulfillment.events): one
	// "shipped" entry once the order is shipped. Never on a checkout.
	Events []FulfillmentEvent `json:"events,omitempty"`
}

// FulfillmentEvent is an entry of an order's fulfillment log.
type FulfillmentEvent struct {
	ID         string               `json:"id"`
	OccurredAt string               `json:"occurred_at"`
	Type       string               `json:"type"`
	LineItems  []FulfillmentLineQty `json:"line_items"`
	// What the platform reported with an event of its own (update_order).
	TrackingNumber string `json:"tracking_number,omitempty"`
	TrackingURL    string `json:"tracking_url,omitempty"`
	Carrier        string `json:"carrier,omitempty"`
	Description    string `json:"description,omitempty"`
}

// FulfillmentLineQty is a line and a quantity of it.
type FulfillmentLineQty struct {
	ID       string `json:"id"`
	Quantity int    `json:"quantity"`
}

// FulfillmentMethod is a way of fulfilling some of the lines.
type FulfillmentMethod struct {
	ID                    string                `json:"id"`
	Type                  string                `json:"type"`
	LineItemIDs           []string              `json:"line_item_ids"`
	SelectedDestinationID string                `json:"selected_destination_id,omitempty"`
	Destinations          []ShippingDestination `json:"destinations,omitempty"`
	Groups                []FulfillmentGroup    `json:"groups"`
}

// ShippingDestination is a postal address with an id.
type ShippingDestination struct {
	ID string `json:"id"`
	PostalAddress
}

// FulfillmentGroup is a package of lines, with the options to ship it.
type FulfillmentGroup struct {
	ID               string              `json:"id"`
	LineItemIDs      []string            `json:"line_item_ids"`
	SelectedOptionID string              `json:"selected_option_id,omitempty"`
	Options          []FulfillmentOption `json:"options"`
}

// FulfillmentOption is one way to ship a group, priced.
type FulfillmentOption struct {
	ID     string  `json:"id"`
	Title  string  `json:"title"`
	Totals []Total `json:"totals"`
}

// The ids of the single method, destination and group.
const (
	shippingMethodID = "shipping_1"
	destinationID    = "dest_1"
	groupID          = "group_1"
)
