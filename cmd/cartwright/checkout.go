package main

import (
	"github.com/spf13/cobra"
)

const checkoutLong = `The agent-facing client of a checkout. Each verb sends one command as an A2A
message/send envelope to <prefix>.in.<tenant>.<context>, waits for the worker's reply on a
private inbox and prints it.

A checkout lives in a context (--context): one conversation, holding at most one open
checkout. Open one with init, fill it in, complete it:

  init [--sku S [--quantity N]]... [--email E]   open a checkout; without --context, in a new
                                                 context whose id goes to stderr as "context: <id>"
  get                                            show the checkout
  add-item --sku S [--quantity N]                add N (default 1) of an item, or raise its line
  update-item --line L --quantity N              set a line's quantity; 0 removes the line
  remove-item --line L                           remove a line
  set-buyer --email E [--first-name F] [--last-name L] [--phone P]
  set-shipping --address JSON                    the shipping address; prices the shipping options
  shipping-options                               show the shipping options
  set-shipping-option --option O                 choose one
  apply-discount --code C                        add a discount code
  remove-discount --code C                       remove it
  complete --payment-token T [--handler mock]    pay and place the order (its id: order.id)
  cancel                                         cancel the checkout

Its status goes incomplete → ready_for_complete → completed. It is ready once it has items,
a buyer email and, for goods that ship, an address and a chosen shipping option.
Completed and canceled checkouts cannot change. Business problems (unknown item, out of
stock, bad discount code, undeliverable address, declined payment) are not errors: the
reply is the checkout, whose messages[] say what is wrong. Then see "cartwright order".

Output (--format): json (default) prints the checkout resource itself (UCP's
dev.ucp.shopping.checkout; money in integer minor units: 5371 is $53.71); yaml the same;
table a summary for people. An error reply prints the JSON-RPC error object
{"code", "message", "data": {"code", "path", "messageId"}}; data.code says what went wrong
(not_found, checkout_exists, checkout_immutable, invalid_params, ...).

Each call is one message with a new messageId, its idempotency key (--message-id to choose
it). The client publishes it again only until JetStream has stored it, then waits for the
reply: one call is one envelope for the worker, however long it takes. A success or an
error comes in well under a second; when a provider fails, the worker tries the envelope
again for up to about a minute (about 20 s when the provider refuses at once) and then
answers temporarily_unavailable (exit 1; the envelope is also dead-lettered). --timeout
(default 1m10s) covers that. After an exit 3, stderr says how far the worker got; repeat the
call with the --message-id it printed to get the reply without applying anything twice.

Exit status: 0 a success reply, 1 an error reply (temporarily_unavailable included), 2 a
usage error (a flag missing or malformed, bad --address JSON), 3 no reply within --timeout
or no connection to NATS.

Every flag can come from the environment as CARTWRIGHT_<FLAG>: CARTWRIGHT_TENANT,
CARTWRIGHT_CONTEXT, CARTWRIGHT_NATS_URL (or NATS_URL), CARTWRIGHT_FORMAT, ...`

const checkoutExample = `  # a worker with the demo tenant on nats://127.0.0.1:4222: cartwright serve
  export CARTWRIGHT_TENANT=demo CARTWRIGHT_CONTEXT=ctx-$RANDOM
  cartwright checkout init --sku sku_tee --quantity 2
  cartwright checkout set-buyer --email ada@example.com --first-name Ada --last-name Lovelace
  cartwright checkout set-shipping --address '{"street_address":"1 Market St",
    "address_locality":"San Francisco","address_region":"CA","postal_code":"94105","address_country":"US"}'
  cartwright checkout set-shipping-option --option std     # or exp
  cartwright checkout apply-discount --code SAVE10
  cartwright checkout complete --payment-token tok_visa    # tok_decline is declined
  cartwright checkout get --format table`

func newCheckout() *cobra.Command {
	var f callFlags
	cmd := group("checkout <verb>", "Drive a checkout: add items, set buyer and shipping, pay",
		checkoutLong, checkoutExample)
	f.registerOn(cmd, "context id: the conversation the checkout belongs to (required; init makes one when omitted)")
	cmd.AddCommand(
		newCheckoutInit(&f),
		verb(&f, "get", "Show the checkout of the context (the open one, or the most recent)",
			ex("get", " --format table"),
			func(*cobra.Command) (action, error) { return newAction("get_checkout"), nil }),
		newAddItem(&f), newUpdateItem(&f), newRemoveItem(&f),
		newSetBuyer(&f), newSetShipping(&f),
		verb(&f, "shipping-options", "Show the shipping options for the address set",
			ex("shipping-options", " --format table"),
			func(*cobra.Command) (action, error) { return newAction("list_shipping_options"), nil }),
		newSetShippingOption(&f),
		newDiscount(&f, "apply-discount", "apply_discount", "Add a discount code"),
		newDiscount(&f, "remove-discount", "remove_discount", "Remove a discount code"),
		newComplete(&f),
		verb(&f, "cancel", "Cancel the checkout (it cannot change afterwards)",
			ex("cancel", ""),
			func(*cobra.Command) (action, error) { return newAction("cancel_checkout"), nil }),
	)
	return cmd
}

// ex is the example of a checkout verb against the demo tenant.
func ex(name, args string) string {
	return "  cartwright checkout " + name + " --tenant demo --context ctx-1" + args
}
