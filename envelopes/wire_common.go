package envelopes

// UCPVersion is the version of UCP that the resources follow.
const UCPVersion = "2026-04-08"

// UCP is the ucp object of a resource: the version and the capabilities it uses, and on a
// checkout of a tenant that lists payment handlers, those handlers.
type UCP struct {
	Version      string       `json:"version"`
	Capabilities []Capability `json:"capabilities"`
	// PaymentHandlers are the tenant's payment handlers, keyed by their reverse-domain
	// name (UCP 2026-04-08's registry form); absent for a tenant that lists none, whose
	// instruments may name any handler.
	PaymentHandlers PaymentHandlers `json:"payment_handlers,omitempty"`
}

// PaymentHandlers are payment handlers keyed by their reverse-domain name, each name with
// the handlers (instances, by id) that follow it.
type PaymentHandlers map[string][]PaymentHandler

// PaymentHandler is UCP's payment handler declaration in a response: the id instruments
// name in their handler_id, and what an agent needs to pay with it.
type PaymentHandler struct {
	ID                   string                `json:"id"`
	Version              string                `json:"version"`
	Spec                 string                `json:"spec,omitempty"`
	Schema               string                `json:"schema,omitempty"`
	AvailableInstruments []AvailableInstrument `json:"available_instruments,omitempty"`
	Config               map[string]any        `json:"config,omitempty"`
}

// AvailableInstrument is an instrument type a payment handler takes.
type AvailableInstrument struct {
	Type string `json:"type"`
}

// Capability names a UCP capability or extension.
type Capability struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// The UCP capability names of the resources.
const (
	CapCheckout    = "dev.ucp.shopping.checkout"
	CapFulfillment = "dev.ucp.shopping.fulfillment"
	CapDiscount    = "dev.ucp.shopping.discount"
	CapOrder       = "dev.ucp.shopping.order"
)

// Total is an entry of a totals list, in integer minor units.
type Total struct {
	Type        string `json:"type"`
	DisplayText string `json:"display_text,omitempty"`
	Amount      int64  `json:"amount"`
}

// Item is a line's item as the catalog describes it.
type Item struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Price int64  `json:"price"`
}

// LineItem is a line of a checkout or an order.
type LineItem struct {
	ID       string  `json:"id"`
	Item     Item    `json:"item"`
	Quantity int     `json:"quantity"`
	Totals   []Total `json:"totals"`
}

// Buyer is UCP's buyer.
type Buyer struct {
	FirstName   string   `json:"first_name,omitempty"`
	LastName    string   `json:"last_name,omitempty"`
	Email       string   `json:"email,omitempty"`
	PhoneNumber string   `json:"phone_number,omitempty"`
	Consent     *Consent `json:"consent,omitempty"`
}

// Consent is UCP's buyer consent (dev.ucp.shopping.buyer_consent), echoed as the agent
// stated it: a field not stated is left out.
type Consent struct {
	Analytics   *bool `json:"analytics,omitempty"`
	Preferences *bool `json:"preferences,omitempty"`
	Marketing   *bool `json:"marketing,omitempty"`
	SaleOfData  *bool `json:"sale_of_data,omitempty"`
}

// Context is UCP's checkout context: hints about where the buyer is.
type Context struct {
	AddressCountry string `json:"address_country,omitempty"`
	AddressRegion  string `json:"address_region,omitempty"`
	PostalCode     string `json:"postal_code,omitempty"`
}

// PostalAddress is UCP's postal address (schema.org's PostalAddress).
type PostalAddress struct {
	StreetAddress   string `json:"street_address,omitempty"`
	AddressLocality string `json:"address_locality,omitempty"`
	AddressRegion   string `json:"address_region,omitempty"`
	PostalCode      string `json:"postal_code,omitempty"`
	AddressCountry  string `json:"address_country"`
}
