package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Webhooks configures the order webhooks (docs/webhooks.md): cartwright POSTs order
// events to the webhook_url a platform's profile names. The zero value is valid: on,
// to loopback hosts only, unsigned until a key is given.
type Webhooks struct {
	// Disabled turns the delivery off: no consumer on the event stream, nothing sent.
	Disabled bool `yaml:"disabled"`
	// SigningKeyFile is a PEM file with the business's P-256 private key (SEC 1 or
	// PKCS #8). Deliveries are signed with it as UCP's message signatures say (RFC 9421,
	// ES256), and the business profile publishes its public key in signing_keys. Empty:
	// deliveries go unsigned.
	SigningKeyFile string `yaml:"signing_key_file"`
	// KeyID is the key's kid (default "cartwright-webhooks").
	KeyID string `yaml:"key_id"`
	// AllowHosts are the hosts a platform's profile and webhook URLs may name: a host
	// name or IP, matched exactly (any port), or "*" for any host whose addresses are
	// public (never loopback, private, link-local or unspecified). Empty, the default:
	// loopback only (localhost, 127.0.0.0/8, ::1), for trying things out.
	AllowHosts []string `yaml:"allow_hosts"`
	// Timeout bounds each POST and each profile fetch (default 5s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries is how many times a failed delivery is tried again before it is
	// dead-lettered with webhook_failed (default 5).
	MaxRetries int `yaml:"max_retries"`
	// InitialInterval and MaxInterval bound the backoff between tries (defaults 500ms
	// and 30s; each wait is twice the one before).
	InitialInterval time.Duration `yaml:"initial_interval"`
	MaxInterval     time.Duration `yaml:"max_interval"`
	// Concurrency is how many events are delivered at once (default 8): an event being
	// retried holds one of them, and the others go on.
	Concurrency int `yaml:"concurrency"`
	// ProfileTTL is how long a fetched platform profile is cached (default 5m).
	ProfileTTL time.Duration `yaml:"profile_ttl"`
	// SimulationSecret, when set, turns on POST /testing/simulate-shipping/{id}, which
	// marks an order shipped for callers that send it in the Simulation-Secret header.
	// Empty, the default: the endpoint answers 403.
	SimulationSecret string `yaml:"simulation_secret"`
}

func (w *Webhooks) setDefaults() {
	if w.KeyID == "" {
		w.KeyID = "cartwright-webhooks"
	}
	if w.Timeout == 0 {
		w.Timeout = 5 * time.Second
	}
	if w.MaxRetries == 0 {
		w.MaxRetries = 5
	}
	if w.InitialInterval == 0 {
		w.InitialInterval = 500 * time.Millisecond
	}
	if w.MaxInterval == 0 {
		w.MaxInterval = 30 * time.Second
	}
	if w.Concurrency == 0 {
		w.Concurrency = 8
	}
	if w.ProfileTTL == 0 {
		w.ProfileTTL = 5 * time.Minute
	}
}

func (w *Webhooks) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if w.Timeout < 10*time.Millisecond {
		bad("timeout: %s is shorter than 10ms", w.Timeout)
	}
	if w.MaxRetries < 0 || w.MaxRetries > 100 {
		bad("max_retries: %d is not between 0 and 100", w.MaxRetries)
	}
	if w.InitialInterval <= 0 || w.MaxInterval < w.InitialInterval {
		bad("initial_interval %s and max_interval %s: want 0 < initial_interval <= max_interval", w.InitialInterval, w.MaxInterval)
	}
	if w.Concurrency < 1 || w.Concurrency > 256 {
		bad("concurrency: %d is not between 1 and 256", w.Concurrency)
	}
	for i, h := range w.AllowHosts {
		if h == "" || strings.ContainsAny(h, "/:@ ") && net.ParseIP(h) == nil {
			bad("allow_hosts[%d]: %q is not a host name or IP", i, h)
		}
	}
	if w.SigningKeyFile != "" {
		if _, err := w.SigningKey(); err != nil {
			bad("signing_key_file: %v", err)
		}
	}
	return errs
}

// SigningKey reads the P-256 private key of SigningKeyFile; nil, nil when none is set.
func (w *Webhooks) SigningKey() (*ecdsa.PrivateKey, error) {
	if w.SigningKeyFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(w.SigningKeyFile)
	if err != nil {
		return nil, err
	}
	return ParseSigningKey(b)
}

// ParseSigningKey parses a PEM P-256 private key, SEC 1 ("EC PRIVATE KEY") or PKCS #8.
func ParseSigningKey(pemBytes []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	if blk.Type == "EC PRIVATE KEY" {
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	} else {
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, err
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not a P-256 (ES256) private key")
	}
	return ec, nil
}

// PublicJWK is the signing key's public half as a JWK of a profile's signing_keys (UCP
// signatures.md); nil when no key is configured.
func (w *Webhooks) PublicJWK() (map[string]string, error) {
	key, err := w.SigningKey()
	if key == nil || err != nil {
		return nil, err
	}
	pt, err := key.PublicKey.ECDH()
	if err != nil {
		return nil, err
	}
	raw := pt.Bytes() // 0x04 || X || Y, 32 bytes each on P-256
	return map[string]string{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": w.KeyID,
		"x": base64.RawURLEncoding.EncodeToString(raw[1:33]),
		"y": base64.RawURLEncoding.EncodeToString(raw[33:65]),
	}, nil
}
