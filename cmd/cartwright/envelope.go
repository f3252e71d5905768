package main

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"io"
	"regexp"
	"strings"

	"github.com/cartwright-dev/cartwright/envelopes"
)

// action is the data part of a request in the action form of CONTRACT.md section 3:
// {"action": name, ...arguments}.
type action map[string]any

func newAction(name string, args ...any) action {
	a := action{"action": name}
	for i := 0; i+1 < len(args); i += 2 {
		a[args[i].(string)] = args[i+1]
	}
	return a
}

// The JSON-RPC message/send request of section 3, as the client writes it.
type (
	rpcRequest struct {
		JSONRPC string    `json:"jsonrpc"`
		ID      string    `json:"id"`
		Method  string    `json:"method"`
		Params  rpcParams `json:"params"`
	}
	rpcParams struct {
		Message userMessage `json:"message"`
	}
	userMessage struct {
		Kind      string     `json:"kind"`
		Role      string     `json:"role"`
		MessageID string     `json:"messageId"`
		ContextID string     `json:"contextId"`
		Parts     []dataPart `json:"parts"`
	}
	dataPart struct {
		Kind string `json:"kind"`
		Data action `json:"data"`
	}
)

// envelope is the request that carries a in context contextID. Its bytes depend on nothing
// but the arguments, so a retry is the same message (section 6).
func envelope(messageID, contextID string, a action) []byte {
	b, err := json.Marshal(rpcRequest{
		JSONRPC: "2.0",
		ID:      messageID,
		Method:  "message/send",
		Params: rpcParams{Message: userMessage{
			Kind:      "message",
			Role:      "user",
			MessageID: messageID,
			ContextID: contextID,
			Parts:     []dataPart{{Kind: "data", Data: a}},
		}},
	})
	if err != nil {
		// The arguments are strings, integers and the envelopes package's wire structs.
		panic("cartwright: encoding a request: " + err.Error())
	}
	return b
}

// messageIDPattern is what the worker accepts as a messageId.
var messageIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns prefix followed by n random bytes in lower-case base32: a valid context id
// (n ≤ 36) and messageId.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return prefix + strings.ToLower(idEncoding.EncodeToString(b))
}

// parseAddress reads the JSON object of --address: the fields of UCP's postal address and
// no others, so that a misspelt key is a usage error rather than a missing field.
func parseAddress(s string) (envelopes.PostalAddress, error) {
	var a envelopes.PostalAddress
	if strings.TrimSpace(s) == "" {
		return a, usageErr("--address is required: a JSON object with street_address, address_locality, address_region, postal_code, address_country")
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, usageErr("--address: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return a, usageErr("--address: one JSON object expected")
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"street_address", a.StreetAddress}, {"address_locality", a.AddressLocality},
		{"postal_code", a.PostalCode}, {"address_country", a.AddressCountry},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return a, usageErr("--address: missing %s", strings.Join(missing, ", "))
	}
	return a, nil
}

// payment is the payment of complete_checkout: one selected card instrument, paid with a
// token by the handler.
func payment(handler, token string) map[string]any {
	return map[string]any{"instruments": []map[string]any{{
		"id":         "pi_1",
		"handler_id": handler,
		"type":       "card",
		"selected":   true,
		"credential": map[string]string{"type": "token", "token": token},
	}}}
}
