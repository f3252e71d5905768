package webhooks_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/cartwright-dev/cartwright/webhooks"
)

// A webhook request signed as UCP's message signatures say, and the platform's check
// of it.
func ExampleSign() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	body := []byte(`{"event_type":"order_placed","order":{"id":"ctx-1.ord_1"}}`)
	req, _ := http.NewRequest(http.MethodPost, "https://platform.example/webhooks/orders", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("UCP-Agent", `profile="https://shop.example/.well-known/ucp"`)
	if err := webhooks.Sign(req, body, key, "merchant-2026", time.Unix(1775649660, 0)); err != nil {
		panic(err)
	}
	fmt.Println(req.Header.Get("Content-Digest"))
	fmt.Println(req.Header.Get("Signature-Input"))

	kid, err := webhooks.Verify(req, body, &key.PublicKey)
	fmt.Println(kid, err)
	_, err = webhooks.Verify(req, []byte(`{"event_type":"order_canceled"}`), &key.PublicKey)
	fmt.Println(err)
	// Output:
	// sha-256=:89EnZmpd0ZlBtaGOVkQ014jPGlYh1F0ddmAIbqBTa7I=:
	// sig1=("@method" "@authority" "@path" "ucp-agent" "content-digest" "content-type");created=1775649660;keyid="merchant-2026"
	// merchant-2026 <nil>
	// the Content-Digest does not match the body
}
