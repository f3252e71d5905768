package handlers_test

import (
	"encoding/json"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// flowerShop is a tenant shaped like the UCP suite's flower shop: discount codes that
// stack in order, compounding and truncating; a known customer with two saved addresses;
// the mock_payment_handler with the suite's tokens.
func flowerShop() *config.Tenant {
	t := &config.Tenant{
		Currency: "USD",
		Builtin: providers.Builtin{
			Items:    []providers.CatalogItem{{ID: "bouquet_roses", Title: "Bouquet of Red Roses", Price: 3500}},
			Shipping: []providers.ShippingRate{{ID: "std-ship", Title: "Standard Shipping", Amount: 500}},
			Discounts: []providers.DiscountCode{
				{Code: "10OFF", Title: "10% Off", Percent: 10},
				{Code: "WELCOME20", Title: "20% Off", Percent: 20},
			},
		},
		DiscountRules: config.DiscountRules{Stacking: true, Compound: true, Rounding: config.RoundingTruncate},
		Customers: []config.Customer{{ID: "cust_1", Email: "john.doe@example.com", Addresses: []config.SavedAddress{
			{ID: "addr_1", StreetAddress: "123 Main St", AddressLocality: "Springfield", AddressRegion: "IL", PostalCode: "62704", AddressCountry: "US"},
			{ID: "addr_2", StreetAddress: "456 Oak Ave", AddressLocality: "Metropolis", AddressRegion: "NY", PostalCode: "10012", AddressCountry: "US"},
		}}},
		PaymentHandlers: []config.PaymentHandler{{ID: "mock_payment_handler",
			ApproveTokens: []string{"success_token"}, DeclineTokens: []string{"fail_token"}}},
	}
	return t
}

type wireReply struct {
	Result *struct {
		Parts []struct {
			Data map[string]json.RawMessage `json:"data"`
		} `json:"parts"`
	} `json:"result"`
	Error *struct {
		Data struct {
			Code string `json:"code"`
			Path string `json:"path"`
		} `json:"data"`
	} `json:"error"`
}

type wireCheckout struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Buyer  struct {
		Consent map[string]bool `json:"consent"`
	} `json:"buyer"`
	Fulfillment struct {
		Methods []struct {
			SelectedDestinationID string `json:"selected_destination_id"`
			Destinations          []struct {
				ID            string `json:"id"`
				StreetAddress string `json:"street_address"`
			} `json:"destinations"`
			Groups []struct {
				Options []struct {
					ID string `json:"id"`
				} `json:"options"`
			} `json:"groups"`
		} `json:"methods"`
	} `json:"fulfillment"`
	Discounts struct {
		Applied []struct {
			Code   string `json:"code"`
			Amount int64  `json:"amount"`
		} `json:"applied"`
	} `json:"discounts"`
	Totals []struct {
		Type   string `json:"type"`
		Amount int64  `json:"amount"`
	} `json:"totals"`
	Messages []struct {
		Code string `json:"code"`
	} `json:"messages"`
}

func (c wireCheckout) total(typ string) int64 {
	for _, t := range c.Totals {
		if t.Type == typ {
			return t.Amount
		}
	}
	return -1
}

// TestFlowerShopOverTheBus drives the wider UCP model through a worker over NATS:
// stacked codes, a known customer's saved addresses chosen by id, consent echoed, the
// payment handlers as configured, a card, and the state kept across a restart.
func TestFlowerShopOverTheBus(t *testing.T) {
	cfg := config.Default()
	cfg.Tenants["flower_shop"] = flowerShop()
	w := testenv.StartWorker(t, cfg, handlers.Options{})
	cl := testenv.NewClient(t, w.NATS.URL())

	send := func(id string, data string) (wireCheckout, wireReply) {
		t.Helper()
		var raw any
		if err := json.Unmarshal([]byte(data), &raw); err != nil {
			t.Fatal(err)
		}
		m := cl.Send("flower_shop", "f1", id, raw)
		var r wireReply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		var c wireCheckout
		if r.Result != nil {
			if err := json.Unmarshal(r.Result.Parts[0].Data["a2a.ucp.checkout"], &c); err != nil {
				t.Fatalf("%s: %v\n%s", id, err, m.Data)
			}
		}
		return c, r
	}

	c, _ := send("m1", `{"a2a.ucp.checkout":{"line_items":[{"item":{"id":"bouquet_roses"},"quantity":1}],
		"buyer":{"email":"John.Doe@example.com","consent":{"marketing":false,"analytics":true}},
		"discounts":{"codes":["10OFF","WELCOME20"]},"fulfillment":{"methods":[{"type":"shipping"}]}}}`)
	if c.total("discount") != -980 || c.total("total") != 2520 || len(c.Discounts.Applied) != 2 || c.Discounts.Applied[1].Amount != 630 {
		t.Fatalf("discounts: %+v, totals %+v", c.Discounts, c.Totals)
	}
	if c.Buyer.Consent["marketing"] || !c.Buyer.Consent["analytics"] || len(c.Buyer.Consent) != 2 {
		t.Fatalf("consent %v", c.Buyer.Consent)
	}
	if ms := c.Fulfillment.Methods; len(ms) != 1 || len(ms[0].Destinations) != 2 || ms[0].Destinations[1].ID != "addr_2" || ms[0].SelectedDestinationID != "" {
		t.Fatalf("fulfillment %+v", c.Fulfillment)
	}

	c, _ = send("m2", `{"a2a.ucp.checkout":{"line_items":[{"item":{"id":"bouquet_roses"},"quantity":1}],
		"buyer":{"email":"john.doe@example.com","consent":{"marketing":false,"analytics":true}},"discounts":{"codes":["10OFF","WELCOME20"]},
		"fulfillment":{"methods":[{"type":"shipping","selected_destination_id":"addr_2","groups":[{"selected_option_id":"std-ship"}]}]}}}`)
	m := c.Fulfillment.Methods[0]
	if c.Status != "ready_for_complete" || m.SelectedDestinationID != "addr_2" || c.total("fulfillment") != 500 || c.total("total") != 3020 {
		t.Fatalf("after choosing addr_2: status %s, method %+v, totals %+v, messages %+v", c.Status, m, c.Totals, c.Messages)
	}

	// The state (destinations, consent) survives a restart of the worker.
	w.Stop()
	w.Start()
	c, _ = send("m3", `{"action":"get_checkout"}`)
	if m := c.Fulfillment.Methods[0]; m.SelectedDestinationID != "addr_2" || len(m.Destinations) != 2 || !c.Buyer.Consent["analytics"] {
		t.Fatalf("after a restart: %+v, buyer %+v", c.Fulfillment, c.Buyer)
	}

	pay := func(handler, credential string) string {
		return `{"a2a.ucp.checkout.payment":{"instruments":[{"id":"instr_1","handler_id":"` + handler +
			`","type":"card","selected":true,"credential":` + credential + `}]},"ap2":{"checkout_mandate":"header.payload.signature~kb_signature"}}`
	}
	if _, r := send("m4", pay("mock", `{"type":"token","token":"success_token"}`)); r.Error == nil || r.Error.Data.Code != "invalid_params" {
		t.Fatalf("a handler the tenant does not list: %+v", r)
	}
	if c, _ = send("m5", pay("mock_payment_handler", `{"type":"token","token":"fail_token"}`)); c.Status != "ready_for_complete" ||
		len(c.Messages) != 1 || c.Messages[0].Code != "payment_failed" {
		t.Fatalf("fail_token: %+v", c)
	}
	if c, _ = send("m6", pay("mock_payment_handler", `{"type":"card","card_number_type":"fpan","number":"4000000000000002","expiry_month":12,"expiry_year":2030}`)); c.Status != "ready_for_complete" ||
		len(c.Messages) != 1 || c.Messages[0].Code != "payment_failed" {
		t.Fatalf("declined card: %+v", c)
	}
	if c, _ = send("m7", pay("mock_payment_handler", `{"type":"stripe_token","token":"success_token","binding":{"checkout_id":"chk_other"}}`)); c.ID != "" {
		t.Fatalf("a token bound to another checkout completed: %+v", c)
	}
	// The suite's success_token, bound to this checkout, under the suite's handler id.
	id := c.ID
	if id == "" {
		c, _ = send("m8", `{"action":"get_checkout"}`)
		id = c.ID
	}
	c, _ = send("m9", pay("mock_payment_handler", `{"type":"stripe_token","token":"success_token","binding":{"checkout_id":"`+id+`","identity":{"access_token":"user_access_token"}}}`))
	if c.Status != "completed" {
		t.Fatalf("success_token: %+v", c)
	}
}

// TestFlowerShopPartialDestinations sends the UCP suite's dynamic fulfillment, known and
// unknown customer requests over the bus: a destination of a country and a postal code is
// priced for its country (the US express rate, then the international one); a known
// customer who sends a destination is shown that one alone, and a saved address sent
// without its id gets it; a buyer with no saved address is echoed a shipping method
// without a destinations field.
func TestFlowerShopPartialDestinations(t *testing.T) {
	cfg := config.Default()
	shop := flowerShop()
	shop.Builtin.Shipping = []providers.ShippingRate{
		{ID: "std-ship", Title: "Standard Shipping", Amount: 500},
		{ID: "exp-ship-us", Title: "Express Shipping (US)", Amount: 1500, Countries: []string{"US"}},
		{ID: "exp-ship-intl", Title: "International Express", Amount: 2500, Countries: []string{"CA"}},
	}
	cfg.Tenants["flower_shop"] = shop
	w := testenv.StartWorker(t, cfg, handlers.Options{})
	cl := testenv.NewClient(t, w.NATS.URL())
	send := func(ctx, id, data string) (wireCheckout, map[string]any) {
		t.Helper()
		var raw any
		if err := json.Unmarshal([]byte(data), &raw); err != nil {
			t.Fatal(err)
		}
		m := cl.Send("flower_shop", ctx, id, raw)
		var r wireReply
		if err := json.Unmarshal(m.Data, &r); err != nil || r.Result == nil {
			t.Fatalf("%s: %v\n%s", id, err, m.Data)
		}
		var c wireCheckout
		var loose map[string]any
		body := r.Result.Parts[0].Data["a2a.ucp.checkout"]
		if err := json.Unmarshal(body, &c); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body, &loose); err != nil {
			t.Fatal(err)
		}
		return c, loose
	}
	options := func(c wireCheckout) (ids []string) {
		for _, o := range c.Fulfillment.Methods[0].Groups[0].Options {
			ids = append(ids, o.ID)
		}
		return ids
	}
	roses := `"line_items":[{"item":{"id":"bouquet_roses"},"quantity":1}],"buyer":{"email":"jane@example.com"}`

	c, _ := send("p1", "m1", `{"a2a.ucp.checkout":{`+roses+`,"fulfillment":{"methods":[{"type":"shipping",
		"destinations":[{"id":"dest_us","address_country":"US","postal_code":"62704"}],"selected_destination_id":"dest_us"}]}}}`)
	if got := options(c); len(got) != 2 || got[1] != "exp-ship-us" || c.Status != "incomplete" ||
		len(c.Messages) != 1 || c.Messages[0].Code != "address_incomplete" {
		t.Fatalf("US: options %v, status %s, messages %+v", got, c.Status, c.Messages)
	}
	c, _ = send("p1", "m2", `{"a2a.ucp.checkout":{`+roses+`,"fulfillment":{"methods":[{"type":"shipping",
		"destinations":[{"id":"dest_ca","address_country":"CA","postal_code":"M5V 2H1"}],"selected_destination_id":"dest_ca"}]}}}`)
	if got := options(c); len(got) != 2 || got[1] != "exp-ship-intl" || c.Fulfillment.Methods[0].SelectedDestinationID != "dest_ca" {
		t.Fatalf("CA: options %v, fulfillment %+v", got, c.Fulfillment)
	}

	// The suite's known customer with a new address: only that one is shown, priced for
	// Canada; then the saved address sent without its id: addr_1, alone.
	john := `"line_items":[{"item":{"id":"bouquet_roses"},"quantity":1}],"buyer":{"email":"john.doe@example.com"}`
	c, _ = send("p3", "m4", `{"a2a.ucp.checkout":{`+john+`,"fulfillment":{"methods":[{"type":"shipping","selected_destination_id":"dest_new",
		"destinations":[{"id":"dest_new","address_country":"CA","postal_code":"M5V 2H1","street_address":"123 New St"}]}]}}}`)
	if m := c.Fulfillment.Methods[0]; len(m.Destinations) != 1 || m.Destinations[0].ID != "dest_new" || options(c)[1] != "exp-ship-intl" {
		t.Fatalf("known customer, new address: %+v", m)
	}
	c, _ = send("p4", "m5", `{"a2a.ucp.checkout":{`+john+`,"fulfillment":{"methods":[{"type":"shipping","destinations":[{"street_address":"123 Main St",
		"address_locality":"Springfield","address_region":"IL","postal_code":"62704","address_country":"US"}]}]}}}`)
	if m := c.Fulfillment.Methods[0]; len(m.Destinations) != 1 || m.Destinations[0].ID != "addr_1" || m.SelectedDestinationID != "addr_1" {
		t.Fatalf("known customer, saved address without its id: %+v", m)
	}

	_, loose := send("p2", "m3", `{"a2a.ucp.checkout":{"line_items":[{"item":{"id":"bouquet_roses"},"quantity":1}],
		"buyer":{"email":"unknown@example.com"},"fulfillment":{"methods":[{"type":"shipping"}]}}}`)
	method := loose["fulfillment"].(map[string]any)["methods"].([]any)[0].(map[string]any)
	if _, ok := method["destinations"]; ok || method["type"] != "shipping" {
		t.Fatalf("unknown customer: method %v", method)
	}
}

// A tenant that lists payment handlers advertises them in its checkouts'
// ucp.payment_handlers, keyed by name; the demo tenant, which lists none, does not.
func TestCheckoutListsPaymentHandlers(t *testing.T) {
	cfg := config.Default()
	shop := flowerShop()
	shop.PaymentHandlers = append(shop.PaymentHandlers, config.PaymentHandler{
		ID: "shop_pay", Name: "com.shopify.shop_pay", Version: "2026-01-11", Spec: "https://shopify.dev/ucp/shop-pay",
		ConfigSchema: "https://shopify.dev/ucp/shop-pay/config.json", Instruments: []string{"shop_pay"},
		Config: map[string]any{"shop_id": "12345"},
	})
	cfg.Tenants["flower_shop"] = shop
	w := testenv.StartWorker(t, cfg, handlers.Options{})
	cl := testenv.NewClient(t, w.NATS.URL())
	ucpOf := func(tenant string) map[string]any {
		t.Helper()
		var raw any
		_ = json.Unmarshal([]byte(`{"a2a.ucp.checkout":{"line_items":[{"item":{"id":"bouquet_roses"},"quantity":1}]}}`), &raw)
		if tenant == "demo" {
			_ = json.Unmarshal([]byte(`{"a2a.ucp.checkout":{"line_items":[{"item":{"id":"sku_tee"},"quantity":1}]}}`), &raw)
		}
		m := cl.Send(tenant, "ph1", "m1", raw)
		var r struct {
			Result struct {
				Parts []struct {
					Data struct {
						Checkout struct {
							UCP map[string]any `json:"ucp"`
						} `json:"a2a.ucp.checkout"`
					} `json:"data"`
				} `json:"parts"`
			} `json:"result"`
		}
		if err := json.Unmarshal(m.Data, &r); err != nil || len(r.Result.Parts) == 0 {
			t.Fatalf("%s: %v\n%s", tenant, err, m.Data)
		}
		return r.Result.Parts[0].Data.Checkout.UCP
	}
	got, _ := json.Marshal(ucpOf("flower_shop")["payment_handlers"])
	want := `{"com.shopify.shop_pay":[{"available_instruments":[{"type":"shop_pay"}],"config":{"shop_id":"12345"},"id":"shop_pay",` +
		`"schema":"https://shopify.dev/ucp/shop-pay/config.json","spec":"https://shopify.dev/ucp/shop-pay","version":"2026-01-11"}],` +
		`"dev.cartwright.payment":[{"id":"mock_payment_handler","version":"2026-04-08"}]}`
	if string(got) != want {
		t.Fatalf("payment_handlers\n got %s\nwant %s", got, want)
	}
	if ph, ok := ucpOf("demo")["payment_handlers"]; ok {
		t.Fatalf("the demo lists payment handlers: %v", ph)
	}
}
