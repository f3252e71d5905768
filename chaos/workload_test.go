package chaos

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// envelope is one publish of the workload.
type envelope struct {
	ctx       string
	messageID string // "" for a malformed envelope
	body      []byte
	kind      string // "", "republish", "conflict", "malformed"
}

var addresses = []map[string]any{
	{"street_address": "1 Market St", "address_locality": "San Francisco", "address_region": "CA", "postal_code": "94105", "address_country": "US"},
	{"street_address": "350 5th Ave", "address_locality": "New York", "address_region": "NY", "postal_code": "10118", "address_country": "US"},
	{"street_address": "5 Rue de Rivoli", "address_locality": "Paris", "postal_code": "75001", "address_country": "FR"},
}

func complete(token string) map[string]any {
	return map[string]any{"action": "complete_checkout", "payment": map[string]any{"instruments": []any{
		map[string]any{"id": "pi_1", "handler_id": "mock", "type": "card", "selected": true,
			"credential": map[string]any{"type": "token", "token": token}}}}}
}

// script is one context's conversation: a purchase with detours, in the order an agent
// would send it.
func script(rng *rand.Rand) []map[string]any {
	items := []string{"sku_tee", "sku_mug", "sku_gift"}
	var s []map[string]any
	if rng.IntN(2) == 0 {
		s = append(s, map[string]any{"action": "create_checkout", "line_items": []any{
			map[string]any{"item": map[string]any{"id": items[rng.IntN(3)]}, "quantity": 1 + rng.IntN(2)}}})
	} else {
		s = append(s, map[string]any{"action": "create_checkout"})
	}
	for i := rng.IntN(4); i >= 0; i-- {
		s = append(s, map[string]any{"action": "add_item", "item_id": items[rng.IntN(3)], "quantity": 1 + rng.IntN(3)})
	}
	switch rng.IntN(4) {
	case 0:
		s = append(s, map[string]any{"action": "update_item", "line_item_id": "li_1", "quantity": rng.IntN(4)})
	case 1:
		s = append(s, map[string]any{"action": "remove_item", "line_item_id": "li_2"})
	case 2:
		s = append(s, map[string]any{"action": "add_item", "item_id": "sku_poster", "quantity": 1})
	}
	s = append(s, map[string]any{"action": "set_buyer", "buyer": map[string]any{"email": "agent@example.com"}})
	s = append(s, map[string]any{"action": "set_shipping_address", "address": addresses[rng.IntN(len(addresses))]})
	s = append(s, map[string]any{"action": "select_shipping_option", "option_id": []string{"std", "exp"}[rng.IntN(2)]})
	if rng.IntN(2) == 0 {
		s = append(s, map[string]any{"action": "apply_discount", "code": []string{"SAVE10", "FLAT5", "BOGUS"}[rng.IntN(3)]})
	}
	s = append(s, map[string]any{"action": "get_checkout"}, map[string]any{"action": "list_shipping_options"})
	switch r := rng.IntN(20); {
	case r < 2:
		s = append(s, map[string]any{"action": "cancel_checkout"})
	case r < 5:
		s = append(s, complete("tok_decline"), complete("tok_visa"))
	case r < 8:
		s = append(s, complete("tok_flaky"))
	default:
		s = append(s, complete("tok_visa"))
	}
	// After the end: refused changes, and a read.
	s = append(s, map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1}, map[string]any{"action": "get_checkout"})
	return s
}

func rpc(messageID string, data any) []byte {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": "r-" + messageID, "method": "message/send",
		"params": map[string]any{"message": map[string]any{"kind": "message", "role": "user", "messageId": messageID,
			"parts": []any{map[string]any{"kind": "data", "data": data}}}}})
	return b
}

// workload interleaves the scripts of n contexts the way concurrent agents would, and
// mixes in republished envelopes (~10 %), malformed ones (~1 %) and, separately, a few
// same-id-different-content ones (returned apart: they are sent once the rest is done).
func workload(rng *rand.Rand, contexts int, target int) (main, conflicts []envelope) {
	// Each context holds one purchase after another until the workload is big enough
	// (the distinct envelopes are about 90 % of it; retries and malformed ones the rest).
	scripts := make([][]envelope, contexts)
	total := 0
	for total < target*9/10 {
		for i := range scripts {
			ctx := fmt.Sprintf("c%04d", i)
			for _, data := range script(rng) {
				id := fmt.Sprintf("%s-%03d", ctx, len(scripts[i]))
				scripts[i] = append(scripts[i], envelope{ctx: ctx, messageID: id, body: rpc(id, data)})
				total++
			}
		}
	}
	next := make([]int, contexts)
	var sent []envelope
	for len(main) < total+total/10+total/100 && len(sent) < total {
		i := rng.IntN(contexts)
		if next[i] >= len(scripts[i]) {
			continue
		}
		e := scripts[i][next[i]]
		next[i]++
		main = append(main, e)
		sent = append(sent, e)
		if rng.IntN(10) == 0 { // a retry of something already sent, same id, same bytes
			r := sent[rng.IntN(len(sent))]
			r.kind = "republish"
			main = append(main, r)
		}
		if rng.IntN(100) == 0 {
			bad := [][]byte{[]byte("{not json"), []byte(`{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"role":"user","parts":[]}}}`), []byte(`[]`)}
			main = append(main, envelope{ctx: e.ctx, body: bad[rng.IntN(len(bad))], kind: "malformed"})
		}
	}
	for k := 0; k < max(5, target/400); k++ {
		e := sent[rng.IntN(len(sent))]
		c := envelope{ctx: e.ctx, messageID: e.messageID, kind: "conflict",
			body: rpc(e.messageID, map[string]any{"action": "add_item", "item_id": "sku_mug", "quantity": 7})}
		conflicts = append(conflicts, c)
	}
	return main, conflicts
}
