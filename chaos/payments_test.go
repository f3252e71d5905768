package chaos

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

// processor is the payment service the worker charges through (the HTTP contract of
// docs/providers.md), with the demo's test tokens. It runs in the test process, so it
// outlives every kill of the worker and can tell whether anything was charged twice.
type processor struct {
	mu      sync.Mutex
	answers map[string]any      // by Idempotency-Key: the recorded answer
	flaky   map[string]int      // tok_flaky attempts by key
	charges map[string][]string // checkout id → keys of approved authorizations
	calls   int
}

func newProcessor(t *testing.T) (*processor, string) {
	p := &processor{answers: map[string]any{}, flaky: map[string]int{}, charges: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *processor) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+payToken {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		http.Error(w, "no Idempotency-Key", http.StatusUnprocessableEntity)
		return
	}
	var req struct {
		CheckoutID string `json:"checkout_id"`
		Instrument struct {
			Credential struct {
				Token string `json:"token"`
			} `json:"credential"`
		} `json:"instrument"`
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path != "/payments/authorize" { // capture, void, refund: always fine here
		json.NewEncoder(w).Encode(map[string]any{})
		return
	}
	if a, ok := p.answers[key]; ok {
		if d, declined := a.(map[string]any)["decline_reason"]; declined {
			w.WriteHeader(http.StatusPaymentRequired)
			json.NewEncoder(w).Encode(map[string]any{"approved": false, "decline_reason": d})
			return
		}
		json.NewEncoder(w).Encode(a)
		return
	}
	switch req.Instrument.Credential.Token {
	case "tok_flaky":
		if p.flaky[key]++; p.flaky[key] <= 2 {
			http.Error(w, `{"error":"try again"}`, http.StatusServiceUnavailable)
			return
		}
	case "tok_visa":
	default:
		a := map[string]any{"approved": false, "decline_reason": "card declined"}
		p.answers[key] = a
		w.WriteHeader(http.StatusPaymentRequired)
		json.NewEncoder(w).Encode(a)
		return
	}
	a := map[string]any{"approved": true, "payment_id": commerce.NewID("pay", key, 0)}
	p.answers[key] = a
	p.charges[req.CheckoutID] = append(p.charges[req.CheckoutID], key)
	json.NewEncoder(w).Encode(a)
}

// charged returns, by checkout, how many authorizations the processor approved.
func (p *processor) charged() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.charges))
	for chk, keys := range p.charges {
		out[chk] = len(keys)
	}
	return out
}
