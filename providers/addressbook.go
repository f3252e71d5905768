package providers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus/ensure"
	"github.com/cartwright-dev/cartwright/commerce"
)

// Bounds of an address book entry: the addresses kept per buyer (the oldest goes when a
// new one comes), and the length of each of an address's fields (longer ones are not
// kept).
const (
	MaxBookAddresses = 8
	MaxBookField     = 256
)

// AddressBookBytes bounds the address bucket on an account that requires a bound on
// every stream (at most about 3 KB per buyer: MaxBookAddresses of about 200 bytes, more
// with longer fields).
const AddressBookBytes = 64 << 20

// KVAddressBook keeps a tenant's address book (commerce.AddressBook) in a JetStream
// key-value bucket, <PREFIX>_ADDRESSES, that every partition and every worker shares: a
// buyer's checkouts live in different contexts, hence partitions, each with its own
// owner.
//
// Keys: <tenant>.<hash>, where hash is the hex SHA-256 of the lower-cased email: the
// email itself is never a key (keys show in `nats kv ls`, in stream subjects and in
// the server's logs). The value is {"a":[{"id", "street_address", …}, …]}: at most
// MaxBookAddresses addresses, each field at most MaxBookField bytes, with no email, name
// or phone.
//
// Save is an idempotent read-modify-write, a compare-and-set on the key's revision: an
// address already kept (by its id, commerce.LearnedID) changes nothing, so a redelivered
// envelope writes nothing twice, and two workers saving for the same buyer at once do not
// lose each other's address. Failures are counted (Failures) and logged, never returned to
// the checkout: the book is a convenience.
type KVAddressBook struct {
	kv     jetstream.KeyValue
	tenant string
	log    *slog.Logger
	reads  atomic.Int64 // reads that failed
	writes atomic.Int64 // writes that failed
}

// AddressBucket creates or opens the address bucket of the streams named by prefix
// (config.Config.Prefix), <PREFIX>_ADDRESSES, with replicas replicas
// (config.Config.Replicas).
func AddressBucket(ctx context.Context, js jetstream.JetStream, prefix string, replicas int) (jetstream.KeyValue, error) {
	cfg := jetstream.KeyValueConfig{
		Bucket:       strings.ToUpper(prefix) + "_ADDRESSES",
		Description:  "cartwright: shipping addresses buyers sent, by tenant and hashed email",
		History:      1,
		Storage:      jetstream.FileStorage,
		Replicas:     max(replicas, 1),
		MaxValueSize: 16 << 10,
	}
	kv, err := ensure.KeyValue(ctx, js, cfg, AddressBookBytes)
	if err != nil {
		return nil, fmt.Errorf("bus: address bucket: %w", err)
	}
	return kv, nil
}

// NewKVAddressBook serves tenant's address book from kv; log (default slog.Default) tells
// of failures.
func NewKVAddressBook(kv jetstream.KeyValue, tenant string, log *slog.Logger) *KVAddressBook {
	if log == nil {
		log = slog.Default()
	}
	return &KVAddressBook{kv: kv, tenant: tenant, log: log}
}

// Failures counts the reads and writes of the book that failed since it was built.
func (b *KVAddressBook) Failures() int64 { return b.reads.Load() + b.writes.Load() }

// FailedReads and FailedWrites count each kind of failure (the worker's metric
// cartwright_address_book_failures_total).
func (b *KVAddressBook) FailedReads() int64  { return b.reads.Load() }
func (b *KVAddressBook) FailedWrites() int64 { return b.writes.Load() }

type bookValue struct {
	A []bookAddress `json:"a"`
}

type bookAddress struct {
	ID      string `json:"id"`
	Street  string `json:"street_address,omitempty"`
	City    string `json:"address_locality,omitempty"`
	Region  string `json:"address_region,omitempty"`
	Postal  string `json:"postal_code,omitempty"`
	Country string `json:"address_country,omitempty"`
}

// BookKey is the key under which tenant's book keeps email's addresses.
func BookKey(tenant, email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return kvToken(tenant) + "." + hex.EncodeToString(sum[:])
}

// Addresses implements commerce.AddressBook: the addresses kept for email, oldest first.
// A failure to read is logged and counted, and gives none.
func (b *KVAddressBook) Addresses(ctx context.Context, email string) ([]commerce.Destination, error) {
	v, _, err := b.get(ctx, BookKey(b.tenant, email))
	if err != nil {
		b.reads.Add(1)
		b.log.Warn("address book: read failed; offering no saved addresses", "tenant", b.tenant, "err", err)
		return nil, nil
	}
	out := make([]commerce.Destination, 0, len(v.A))
	for _, a := range v.A {
		out = append(out, commerce.Destination{ID: a.ID, Saved: true, Address: commerce.Address{
			StreetAddress: a.Street, AddressLocality: a.City, AddressRegion: a.Region, PostalCode: a.Postal, AddressCountry: a.Country,
		}})
	}
	return out, nil
}

// get reads key: its value (empty when absent) and revision (0 when absent).
func (b *KVAddressBook) get(ctx context.Context, key string) (bookValue, uint64, error) {
	e, err := b.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return bookValue{}, 0, nil
	}
	if err != nil {
		return bookValue{}, 0, err
	}
	var v bookValue
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return bookValue{}, e.Revision(), fmt.Errorf("address book entry: %w", err)
	}
	return v, e.Revision(), nil
}

// Save keeps d for email: nothing changes when d's id is kept already; past
// MaxBookAddresses the oldest goes. An address with a field longer than MaxBookField is
// not kept. A failure is logged, counted and returned (for the caller's log); the
// checkout goes on without it.
func (b *KVAddressBook) Save(ctx context.Context, email string, d commerce.Destination) error {
	a := bookAddress{ID: d.ID, Street: d.Address.StreetAddress, City: d.Address.AddressLocality,
		Region: d.Address.AddressRegion, Postal: d.Address.PostalCode, Country: d.Address.AddressCountry}
	for _, f := range []string{a.ID, a.Street, a.City, a.Region, a.Postal, a.Country} {
		if len(f) > MaxBookField {
			return nil
		}
	}
	key := BookKey(b.tenant, email)
	var err error
	for range 5 {
		if err = b.save(ctx, key, a); !errors.Is(err, errBookConflict) {
			break
		}
	}
	if err != nil {
		b.writes.Add(1)
		b.log.Warn("address book: write failed; the address is not offered again", "tenant", b.tenant, "err", err)
	}
	return err
}

var errBookConflict = errors.New("address book: changed meanwhile")

func (b *KVAddressBook) save(ctx context.Context, key string, a bookAddress) error {
	v, rev, err := b.get(ctx, key)
	if err != nil && rev == 0 {
		return err
	}
	for _, x := range v.A {
		if x.ID == a.ID {
			return nil // kept already: a redelivery, or the same address again
		}
	}
	v.A = append(v.A, a)
	if n := len(v.A) - MaxBookAddresses; n > 0 {
		v.A = v.A[n:]
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = b.kv.Create(ctx, key, raw)
	} else {
		_, err = b.kv.Update(ctx, key, raw, rev)
	}
	var apiErr *jetstream.APIError
	if errors.Is(err, jetstream.ErrKeyExists) || errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return errBookConflict
	}
	return err
}
