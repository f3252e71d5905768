package main

import (
	"github.com/spf13/cobra"
)

const orderLong = `Look at an order and move it and its payment along. Completing a checkout places an
order (its id, ord_…, is the checkout's order.id); the order lives in the checkout's
context, so --context is the one the checkout was in.

  get --order O                   show the order
  cancel --order O                cancel it (voiding or refunding its payment)
  capture --order O [--amount N]  capture the authorized payment (default: all of it)
  void --order O                  release an authorization not captured
  refund --order O [--amount N]   refund captured money (default: all of it)
  ship --order O                  mark it shipped, once (order.shipped; its order_shipped webhook)

The payment goes authorized → captured → refunded or partially_refunded, or voided; a
step its state does not allow is an invalid_transition error. --amount is in integer
minor units (1000 is $10.00) and never more than what can be captured or refunded.

Output (--format json, yaml or table) and retries are those of "cartwright checkout --help".

Exit status: 0 a success reply (the order is printed), 1 an error reply (the JSON-RPC
error object is printed), 2 a usage error, 3 no reply within --timeout or no connection
to NATS.`

func newOrder() *cobra.Command {
	var f callFlags
	cmd := group("order <verb>", "Show an order; cancel it; capture, void or refund its payment", orderLong,
		`  cartwright order get --tenant demo --context ctx-1 --order ord_1 --format table
  cartwright order capture --tenant demo --context ctx-1 --order ord_1
  cartwright order refund --tenant demo --context ctx-1 --order ord_1 --amount 1000`)
	f.registerOn(cmd, "context id of the checkout that placed the order (required)")
	cmd.AddCommand(
		orderVerb(&f, "get", "get_order", "Show an order", false),
		orderVerb(&f, "cancel", "cancel_order", "Cancel an order", false),
		orderVerb(&f, "capture", "capture_payment", "Capture an order's authorized payment", true),
		orderVerb(&f, "void", "void_payment", "Void an order's uncaptured authorization", false),
		orderVerb(&f, "refund", "refund_payment", "Refund an order's captured payment", true),
		orderVerb(&f, "ship", "ship_order", "Mark an order shipped", false),
	)
	return cmd
}

// orderVerb makes the verb that sends act for --order; withAmount adds --amount.
func orderVerb(f *callFlags, name, act, short string, withAmount bool) *cobra.Command {
	var order string
	var amount int64
	use := name + " --order O"
	if withAmount {
		use += " [--amount N]"
	}
	example := "  cartwright order " + name + " --tenant demo --context ctx-1 --order ord_1"
	if withAmount {
		example += "\n" + example + " --amount 1000"
	}
	cmd := verb(f, use, short, example, func(cmd *cobra.Command) (action, error) {
		if order == "" {
			return nil, usageErr("order %s: --order is required (the checkout's order.id)", name)
		}
		a := newAction(act, "order_id", order)
		if withAmount && cmd.Flags().Changed("amount") {
			if amount < 1 {
				return nil, usageErr("order %s: --amount must be a positive number of minor units", name)
			}
			a["amount"] = amount
		}
		return a, nil
	})
	cmd.Flags().StringVar(&order, "order", "", "order id, ord_… (required)")
	if withAmount {
		cmd.Flags().Int64Var(&amount, "amount", 0, "amount in minor units (default: all)")
	}
	return cmd
}
