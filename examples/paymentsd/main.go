// Command paymentsd is a reference payment service for cartwright's HTTP payments
// provider (docs/providers.md): what a merchant puts in front of its processor, here with
// an in-memory ledger and test tokens instead of a processor. It is for trying
// examples/merchant.yaml and for reading, not for production.
//
//	ACME_PAY_TOKEN=dev-only-token go run ./examples/paymentsd [-listen 127.0.0.1:9090]
//
// Test tokens: tok_visa is approved, tok_decline declined, tok_flaky answers 503 twice per
// idempotency key and is then approved (cartwright retries it with the same key).
package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9090", "address to listen on")
	tokenEnv := flag.String("token-env", "ACME_PAY_TOKEN", "environment variable holding the bearer token cartwright sends")
	flag.Parse()
	token := os.Getenv(*tokenEnv)
	if token == "" {
		log.Fatalf("set %s to the token cartwright is configured with (token_env)", *tokenEnv)
	}
	s := &service{token: token, answers: map[string]answer{}, payments: map[string]*payment{}, flaky: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /payments/authorize", s.idempotent(s.authorize))
	mux.HandleFunc("POST /payments/{id}/{verb}", s.idempotent(s.follow))
	log.Printf("paymentsd listening on http://%s", *listen)
	log.Fatal(http.ListenAndServe(*listen, s.authenticated(mux)))
}

type payment struct {
	Authorized, Captured, Refunded int64
	Currency                       string
	Voided                         bool
}

// answer is a recorded response, replayed for a repeated Idempotency-Key.
type answer struct {
	status int
	body   any
}

type service struct {
	token    string
	mu       sync.Mutex
	answers  map[string]answer // by Idempotency-Key
	payments map[string]*payment
	flaky    map[string]int // tok_flaky attempts by key
}

func (s *service) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			write(w, answer{http.StatusUnauthorized, errorBody("unauthorized", "missing or wrong bearer token")})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// idempotent answers a key it has seen with its first answer, and runs f once per key.
// A 5xx is not an answer: it is not recorded, so the retry runs f again.
func (s *service) idempotent(f func(r *http.Request, key string) answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			write(w, answer{http.StatusBadRequest, errorBody("idempotency_key_missing", "Idempotency-Key is required")})
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		a, seen := s.answers[key]
		if !seen {
			a = f(r, key)
			if a.status < 500 {
				s.answers[key] = a
			}
		}
		log.Printf("%s %s key=%s tenant=%s → %d (replayed %v)", r.Method, r.URL.Path, key, r.Header.Get("Cartwright-Tenant"), a.status, seen)
		write(w, a)
	}
}

func (s *service) authorize(r *http.Request, key string) answer {
	var req struct {
		CheckoutID string `json:"checkout_id"`
		Amount     int64  `json:"amount"`
		Currency   string `json:"currency"`
		Capture    bool   `json:"capture"`
		Instrument struct {
			Credential struct {
				Token string `json:"token"`
			} `json:"credential"`
		} `json:"instrument"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Amount <= 0 || len(req.Currency) != 3 {
		return answer{http.StatusUnprocessableEntity, errorBody("invalid_request", "amount and currency are required")}
	}
	switch req.Instrument.Credential.Token {
	case "tok_visa":
	case "tok_flaky":
		if s.flaky[key]++; s.flaky[key] <= 2 {
			return answer{http.StatusServiceUnavailable, errorBody("processor_unavailable", "try again")}
		}
	case "tok_decline":
		return answer{http.StatusPaymentRequired, map[string]any{"approved": false, "decline_reason": "card declined"}}
	default:
		return answer{http.StatusPaymentRequired, map[string]any{"approved": false, "decline_reason": "unknown test token"}}
	}
	id := newID()
	p := &payment{Authorized: req.Amount, Currency: req.Currency}
	if req.Capture {
		p.Captured = req.Amount
	}
	s.payments[id] = p
	return answer{http.StatusOK, map[string]any{"approved": true, "payment_id": id}}
}

func (s *service) follow(r *http.Request, _ string) answer {
	p := s.payments[r.PathValue("id")]
	if p == nil {
		return answer{http.StatusNotFound, errorBody("not_found", "no such payment")}
	}
	var req struct {
		Amount int64 `json:"amount"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Amount <= 0 {
		return answer{http.StatusUnprocessableEntity, errorBody("invalid_request", "amount must be positive")}
	}
	conflict := func(msg string) answer { return answer{http.StatusConflict, errorBody("invalid_state", msg)} }
	switch r.PathValue("verb") {
	case "capture":
		if p.Voided || p.Captured+req.Amount > p.Authorized {
			return conflict("cannot capture more than was authorized")
		}
		p.Captured += req.Amount
	case "void":
		if p.Voided || p.Captured > 0 {
			return conflict("only an authorized, uncaptured payment can be voided")
		}
		p.Voided = true
	case "refund":
		if p.Refunded+req.Amount > p.Captured {
			return conflict("cannot refund more than was captured")
		}
		p.Refunded += req.Amount
	default:
		return answer{http.StatusNotFound, errorBody("not_found", "no such operation")}
	}
	return answer{http.StatusOK, map[string]any{"payment_id": r.PathValue("id")}}
}

func errorBody(code, msg string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": msg}}
}

func write(w http.ResponseWriter, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	json.NewEncoder(w).Encode(a.body)
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "pay_" + hex.EncodeToString(b)
}
