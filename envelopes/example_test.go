package envelopes_test

import (
	"errors"
	"fmt"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/envelopes"
)

func ExampleParse() {
	// An agent adds two tees to the checkout of context ctx-42 of tenant demo.
	raw := []byte(`{"jsonrpc":"2.0","id":"req-7","method":"message/send",
	  "params":{"message":{"kind":"message","role":"user","messageId":"msg-01J9Z","contextId":"ctx-42",
	    "parts":[{"kind":"data","data":{"action":"add_item","item_id":"sku_tee","quantity":2}}]}}}`)
	req, err := envelopes.Parse(raw, "demo", "ctx-42", envelopes.DefaultLimits())
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %s %+v\n", req.MessageID, req.Command.Action(), req.Command)

	// The same request with a quantity out of range gets an error reply addressed to it.
	raw = []byte(`{"jsonrpc":"2.0","id":"req-8","method":"message/send",
	  "params":{"message":{"kind":"message","role":"user","messageId":"msg-01J9Y",
	    "parts":[{"kind":"data","data":{"action":"add_item","item_id":"sku_tee","quantity":1000}}]}}}`)
	req, err = envelopes.Parse(raw, "demo", "ctx-42", envelopes.DefaultLimits())
	var e *commerce.Error
	if errors.As(err, &e) {
		reply := envelopes.Wrap(req.ID, envelopes.ErrorBody(e, req.MessageID), true)
		fmt.Println(string(reply))
	}
	// Output:
	// msg-01J9Z add_item {ItemID:sku_tee Quantity:2}
	// {"jsonrpc":"2.0","id":"req-8","error":{"code":-32602,"message":"quantity must be between 1 and 999","data":{"code":"invalid_params","path":"$.params.message.parts[0].data.quantity","messageId":"msg-01J9Y"}}}
}
