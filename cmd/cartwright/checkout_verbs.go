package main

import (
	"github.com/spf13/cobra"

	"github.com/cartwright-dev/cartwright/envelopes"
)

func newCheckoutInit(f *callFlags) *cobra.Command {
	var (
		skus  []string
		qtys  []int
		email string
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Open a checkout, in a new context unless --context names one",
		Long: `Open a checkout (create_checkout), optionally with items and the buyer's email.

Without --context, init makes a new context id and prints "context: <id>" on standard
error before it sends anything; pass that id as --context (or CARTWRIGHT_CONTEXT) to every
later call. Standard output has the checkout, as for any verb. You may as well choose
the context id yourself: any new token of 1 to 64 A-Z a-z 0-9 _ - will do.

--sku and --quantity repeat: the n-th --quantity is the quantity of the n-th --sku
(1 when missing).`,
		Example: `  cartwright checkout init --tenant demo --context ctx-1 --sku sku_tee --quantity 2 --sku sku_gift
  cartwright checkout init --tenant demo --email ada@example.com 2>ctx.txt   # ctx.txt: "context: ctx-…"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.context == "" {
				f.context = newID("ctx-", 10)
				cmd.PrintErrln("context:", f.context)
			}
			if err := f.check(); err != nil {
				return err
			}
			if len(qtys) > len(skus) {
				return usageErr("init: more --quantity than --sku")
			}
			a := newAction("create_checkout")
			if len(skus) > 0 {
				lines := make([]map[string]any, len(skus))
				for i, sku := range skus {
					q := 1
					if i < len(qtys) {
						q = qtys[i]
					}
					if sku == "" || q < 1 {
						return usageErr("init: each --sku needs an item id and a --quantity of at least 1")
					}
					lines[i] = map[string]any{"item": map[string]string{"id": sku}, "quantity": q}
				}
				a["line_items"] = lines
			}
			if email != "" {
				a["buyer"] = envelopes.Buyer{Email: email}
			}
			return f.call(cmd, a)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&skus, "sku", nil, "item id of a line (repeatable)")
	fs.IntSliceVar(&qtys, "quantity", nil, "quantity of the matching --sku (repeatable; default 1)")
	fs.StringVar(&email, "email", "", "the buyer's email")
	return cmd
}

func newAddItem(f *callFlags) *cobra.Command {
	var sku string
	var qty int
	cmd := verb(f, "add-item --sku S [--quantity N]", "Add an item, or raise the quantity of its line",
		ex("add-item", " --sku sku_tee --quantity 2"),
		func(cmd *cobra.Command) (action, error) {
			if sku == "" {
				return nil, usageErr("add-item: --sku is required")
			}
			if qty < 1 {
				return nil, usageErr("add-item: --quantity must be at least 1")
			}
			return newAction("add_item", "item_id", sku, "quantity", qty), nil
		})
	cmd.Flags().StringVar(&sku, "sku", "", "item id, e.g. sku_tee (required)")
	cmd.Flags().IntVar(&qty, "quantity", 1, "how many")
	return cmd
}

func newUpdateItem(f *callFlags) *cobra.Command {
	var line string
	var qty int
	cmd := verb(f, "update-item --line L --quantity N", "Set the quantity of a line (0 removes it)",
		ex("update-item", " --line li_1 --quantity 3"),
		func(cmd *cobra.Command) (action, error) {
			if line == "" {
				return nil, usageErr("update-item: --line is required (a line_items[].id)")
			}
			if err := required(cmd, "quantity"); err != nil {
				return nil, err
			}
			if qty < 0 {
				return nil, usageErr("update-item: --quantity must not be negative")
			}
			return newAction("update_item", "line_item_id", line, "quantity", qty), nil
		})
	cmd.Flags().StringVar(&line, "line", "", "line item id, from line_items[].id (required)")
	cmd.Flags().IntVar(&qty, "quantity", 0, "the new quantity (required)")
	return cmd
}

func newRemoveItem(f *callFlags) *cobra.Command {
	var line string
	cmd := verb(f, "remove-item --line L", "Remove a line",
		ex("remove-item", " --line li_1"),
		func(cmd *cobra.Command) (action, error) {
			if line == "" {
				return nil, usageErr("remove-item: --line is required (a line_items[].id)")
			}
			return newAction("remove_item", "line_item_id", line), nil
		})
	cmd.Flags().StringVar(&line, "line", "", "line item id, from line_items[].id (required)")
	return cmd
}

func newSetBuyer(f *callFlags) *cobra.Command {
	var b envelopes.Buyer
	cmd := verb(f, "set-buyer --email E [--first-name F] [--last-name L] [--phone P]",
		"Set the buyer (replacing the one set before)",
		ex("set-buyer", " --email ada@example.com --first-name Ada --last-name Lovelace"),
		func(cmd *cobra.Command) (action, error) {
			if b.Email == "" {
				return nil, usageErr("set-buyer: --email is required")
			}
			return newAction("set_buyer", "buyer", b), nil
		})
	fs := cmd.Flags()
	fs.StringVar(&b.Email, "email", "", "email (required)")
	fs.StringVar(&b.FirstName, "first-name", "", "first name")
	fs.StringVar(&b.LastName, "last-name", "", "last name")
	fs.StringVar(&b.PhoneNumber, "phone", "", "phone number")
	return cmd
}

func newSetShipping(f *callFlags) *cobra.Command {
	var address string
	cmd := verb(f, "set-shipping --address JSON", "Set the shipping address; prices the shipping options",
		ex("set-shipping", ` --address '{"street_address":"1 Market St","address_locality":"San Francisco",`+
			`"address_region":"CA","postal_code":"94105","address_country":"US"}'`),
		func(cmd *cobra.Command) (action, error) {
			a, err := parseAddress(address)
			if err != nil {
				return nil, err
			}
			return newAction("set_shipping_address", "address", a), nil
		})
	cmd.Long = `Set the shipping address and price the shipping options. --address is a JSON object
with street_address, address_locality (the city), address_region (optional; the state),
postal_code and address_country (ISO 3166-1 alpha-2); other keys are refused. The demo
tenant ships to US addresses only, and taxes CA ones.`
	cmd.Flags().StringVar(&address, "address", "", "the address as a JSON object (required)")
	return cmd
}

func newSetShippingOption(f *callFlags) *cobra.Command {
	var option string
	cmd := verb(f, "set-shipping-option --option O", "Choose a shipping option",
		ex("set-shipping-option", " --option std"),
		func(cmd *cobra.Command) (action, error) {
			if option == "" {
				return nil, usageErr("set-shipping-option: --option is required (see shipping-options)")
			}
			return newAction("select_shipping_option", "option_id", option), nil
		})
	cmd.Flags().StringVar(&option, "option", "", "option id, from shipping-options (required)")
	return cmd
}

func newDiscount(f *callFlags, use, act, short string) *cobra.Command {
	var code string
	cmd := verb(f, use+" --code C", short, ex(use, " --code SAVE10"),
		func(cmd *cobra.Command) (action, error) {
			if code == "" {
				return nil, usageErr("%s: --code is required", use)
			}
			return newAction(act, "code", code), nil
		})
	cmd.Flags().StringVar(&code, "code", "", "discount code (required)")
	return cmd
}

func newComplete(f *callFlags) *cobra.Command {
	var token, handler string
	cmd := verb(f, "complete --payment-token T [--handler mock]", "Pay and place the order",
		ex("complete", " --payment-token tok_visa"),
		func(cmd *cobra.Command) (action, error) {
			if token == "" || handler == "" {
				return nil, usageErr("complete: --payment-token and --handler are required")
			}
			return newAction("complete_checkout", "payment", payment(handler, token)), nil
		})
	cmd.Long = `Pay with a tokenized card and place the order. On success the checkout is completed and
its order.id names the order ("cartwright order get --order <id>"). A declined payment is
not an error: the checkout stays open, with a payment_failed message. With the demo
tenant's mock handler, tok_visa is approved and tok_decline declined.`
	cmd.Flags().StringVar(&token, "payment-token", "", "the payment credential's token (required)")
	cmd.Flags().StringVar(&handler, "handler", "mock", "payment handler id")
	return cmd
}
