package providers

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus/ensure"
	"github.com/cartwright-dev/cartwright/commerce"
)

// KVInventory keeps a tenant's stock in a JetStream key-value bucket, where every partition
// and every worker process sees the same count. It implements commerce.Inventory.
//
// Keys (one bucket per prefix, <PREFIX>_STOCK):
//
//	<tenant>.item.<item>      {"remaining": n, "holds": {"<checkout>": ±qty, …}}  (holds: in flight only)
//	<tenant>.res.<checkout>   {"lines": [{item, qty}…], "held": bool}
//
// Every change is a compare-and-set on the key's revision, so concurrent workers never
// lose each other's updates. A reservation writes its intent first (res.<checkout>), then
// takes each item's quantity into that item's holds, marks the intent held, and prunes
// its holds from the items (the intent remembers them; items must not keep an entry per
// checkout ever sold). A release gives each item back what the intent says and leaves a
// release marker (a negative hold) on the item, deletes the intent, then prunes the
// markers. Each step is idempotent per checkout (a hold is taken or given back once), so a
// worker killed half-way and the redelivery that follows leave the count right; a crash
// between the last two steps of either leaves one small entry behind, never a wrong count.
//
// An item's count starts from the configured stock the first time it is used; after that
// the bucket is the truth (`nats kv put` it to restock).
type KVInventory struct {
	kv     jetstream.KeyValue
	tenant string
	stock  map[string]*int64 // configured stock by item; nil: not counted

	mu    sync.RWMutex
	cache map[string]kvCached // by item key, kept current by a watcher and by our own writes
	// onChange, when set, is told of every item value the watcher sees (OnChange).
	onChange func(itemID string, remaining int64)
	ids      map[string]string // item id by item key, for onChange
}

// kvCached is the latest value of an item's key this process has seen.
type kvCached struct {
	v   stockValue
	rev uint64
}

type stockValue struct {
	Remaining int64 `json:"remaining"`
	// Holds are by checkout: > 0 taken and not yet pruned, < 0 given back and not yet
	// pruned. Normally empty.
	Holds map[string]int64 `json:"holds,omitempty"`
	// Allot is by partition: the units each partition took for the reservations it
	// keeps in its own state (store.Stock with allotments, see TakeAllot).
	Allot map[string]Allotment `json:"allot,omitempty"`
}

// Allotment is one partition's share of an item: N units taken from remaining, and the
// lease epoch of the worker that last changed it (see ClaimAllot).
type Allotment struct {
	N     int64  `json:"n"`
	Epoch uint64 `json:"e,omitempty"`
}

type kvIntent struct {
	Lines []commerce.Reservation `json:"lines"`
	Held  bool                   `json:"held"`
}

// StockBucket creates or opens the stock bucket of the streams named by prefix
// (config.Config.Prefix): <PREFIX>_STOCK, with one replica.
func StockBucket(ctx context.Context, js jetstream.JetStream, prefix string) (jetstream.KeyValue, error) {
	return StockBucketReplicas(ctx, js, prefix, 1)
}

// StockBucketReplicas is StockBucket with replicas replicas (config.Config.Replicas):
// on a clustered NATS the counts must outlive a node.
//
// The bucket has no size bound, unless the account's JetStream limits require one on
// every stream: it is then created with StockBucketBytes.
func StockBucketReplicas(ctx context.Context, js jetstream.JetStream, prefix string, replicas int) (jetstream.KeyValue, error) {
	cfg := jetstream.KeyValueConfig{
		Bucket:      strings.ToUpper(prefix) + "_STOCK",
		Description: "cartwright: stock counts and reservations",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	}
	kv, err := ensure.KeyValue(ctx, js, cfg, StockBucketBytes)
	if err != nil {
		return nil, fmt.Errorf("bus: stock bucket: %w", err)
	}
	return kv, nil
}

// StockBucketBytes bounds the stock bucket on an account that requires a bound. With
// allotments (docs/workers.md, "Stock across workers") it holds one small key per item;
// reserving without them, one key per checkout that holds stock as well (about 150 bytes
// each, deleted when released).
const StockBucketBytes = 8 << 20

// NewKVInventory serves tenant's stock from kv. stock is the configured stock by item id
// (nil for items whose stock is not counted). It watches the bucket so that Available
// needs no round trip; ctx ends the watch.
func NewKVInventory(ctx context.Context, kv jetstream.KeyValue, tenant string, stock map[string]*int64) (*KVInventory, error) {
	inv := &KVInventory{kv: kv, tenant: tenant, stock: stock, cache: map[string]kvCached{}}
	w, err := kv.Watch(ctx, tenant+".item.>", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("bus: watch stock of %s: %w", tenant, err)
	}
	ready := make(chan struct{})
	go func() {
		defer w.Stop()
		initial := true
		for e := range w.Updates() {
			if e == nil {
				if initial {
					close(ready)
					initial = false
				}
				continue
			}
			var v stockValue
			if json.Unmarshal(e.Value(), &v) == nil {
				inv.remember(e.Key(), v, e.Revision())
				inv.mu.RLock()
				f, id := inv.onChange, inv.ids[e.Key()]
				inv.mu.RUnlock()
				if f != nil && id != "" {
					f(id, v.Remaining)
				}
			}
		}
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return inv, nil
}

var kvKeyToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// kvToken makes an id usable as a key token (ids outside [A-Za-z0-9_-] are hex-encoded).
func kvToken(id string) string {
	if kvKeyToken.MatchString(id) {
		return id
	}
	return "x" + hex.EncodeToString([]byte(id))
}

func (inv *KVInventory) itemKey(id string) string { return inv.tenant + ".item." + kvToken(id) }
func (inv *KVInventory) resKey(id string) string  { return inv.tenant + ".res." + kvToken(id) }

// Available implements commerce.Inventory from the watched copy: a hint for adding to a
// cart and for completing; Reserve is the authority. Units in holds not yet pruned count
// as available: such a hold is a reservation in flight, or one interrupted half-way (its
// worker killed), whose redelivered completion must get past the check before Reserve to
// find its hold again; otherwise the unit would wait for the checkout's expiry.
func (inv *KVInventory) Available(_ context.Context, itemID string) (int64, bool, error) {
	s, known := inv.stock[itemID]
	if !known {
		return 0, false, nil
	}
	if s == nil {
		return 0, true, nil
	}
	inv.mu.RLock()
	c, ok := inv.cache[inv.itemKey(itemID)]
	inv.mu.RUnlock()
	if !ok {
		return *s, false, nil
	}
	n := c.v.Remaining
	for _, q := range c.v.Holds {
		n += max(q, 0)
	}
	return n, false, nil
}

// Reserve implements commerce.Inventory.
func (inv *KVInventory) Reserve(ctx context.Context, checkoutID string, lines []commerce.Reservation) (bool, string, error) {
	var counted []commerce.Reservation
	for _, l := range lines {
		s, known := inv.stock[l.ItemID]
		if !known {
			return false, l.ItemID, nil
		}
		if s != nil {
			counted = append(counted, l)
		}
	}
	if len(counted) == 0 {
		return true, "", nil
	}
	key := inv.resKey(checkoutID)
	in := kvIntent{Lines: counted}
	rev, err := inv.kv.Create(ctx, key, kvJSON(in))
	if errors.Is(err, jetstream.ErrKeyExists) {
		e, gerr := inv.kv.Get(ctx, key)
		if gerr != nil {
			return false, "", kvTransient("read reservation", gerr)
		}
		if json.Unmarshal(e.Value(), &in) != nil {
			return false, "", fmt.Errorf("bus: reservation %s is unreadable", key)
		}
		if in.Held {
			return true, "", inv.prune(ctx, checkoutID, in.Lines, true)
		}
		rev = e.Revision() // a reservation interrupted half-way: finish it
	} else if err != nil {
		return false, "", kvTransient("write reservation", err)
	}
	for _, l := range in.Lines {
		ok, err := inv.take(ctx, checkoutID, l)
		if err != nil {
			return false, "", err
		}
		if !ok {
			if err := inv.Release(ctx, checkoutID); err != nil {
				return false, "", err
			}
			return false, l.ItemID, nil
		}
	}
	in.Held = true
	if _, err := inv.kv.Update(ctx, key, kvJSON(in), rev); err != nil {
		return false, "", kvTransient("mark reservation held", err)
	}
	// The intent now records the hold: the items need not, and must not keep an entry per
	// checkout for ever (every item's value would grow with every checkout sold).
	return true, "", inv.prune(ctx, checkoutID, in.Lines, true)
}

// prune removes the checkout's entries from its items: with holdsOnly, its holds; else
// its release markers too. A reservation prunes only holds: a marker next to an intent
// still held is a release that was interrupted after it gave the stock back, and the
// release that finishes it must see the marker, or it gives the stock back twice.
func (inv *KVInventory) prune(ctx context.Context, checkoutID string, lines []commerce.Reservation, holdsOnly bool) error {
	for _, l := range lines {
		if err := inv.cas(ctx, l.ItemID, func(v *stockValue) bool {
			if q, ok := v.Holds[checkoutID]; !ok || holdsOnly && q < 0 {
				return false
			}
			delete(v.Holds, checkoutID)
			return true
		}); err != nil {
			return err
		}
	}
	return nil
}

// Release implements commerce.Inventory.
func (inv *KVInventory) Release(ctx context.Context, checkoutID string) error {
	key := inv.resKey(checkoutID)
	e, err := inv.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil
	}
	if err != nil {
		return kvTransient("read reservation", err)
	}
	var in kvIntent
	if json.Unmarshal(e.Value(), &in) != nil {
		return fmt.Errorf("bus: reservation %s is unreadable", key)
	}
	for _, l := range in.Lines {
		if err := inv.give(ctx, checkoutID, l, in.Held); err != nil {
			return err
		}
	}
	if err := inv.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil &&
		!errors.Is(err, jetstream.ErrKeyNotFound) {
		return kvTransient("delete reservation", err)
	}
	return inv.prune(ctx, checkoutID, in.Lines, false)
}

// take moves l's quantity from the item's remaining stock into the checkout's hold,
// unless it is held already. It reports false when the item is short.
func (inv *KVInventory) take(ctx context.Context, checkoutID string, l commerce.Reservation) (bool, error) {
	short := false
	err := inv.cas(ctx, l.ItemID, func(v *stockValue) bool {
		short = false // the function may run more than once: only the last decision counts
		if q := v.Holds[checkoutID]; q > 0 {
			return false // taken already
		}
		if v.Remaining < l.Quantity {
			short = true
			return false
		}
		v.Remaining -= l.Quantity
		if v.Holds == nil {
			v.Holds = map[string]int64{}
		}
		v.Holds[checkoutID] = l.Quantity
		return true
	})
	return !short, err
}

// give returns the checkout's hold on the item to its remaining stock, unless it was
// given back already. An entry q > 0 is a hold not yet pruned, q < 0 a release marker;
// no entry is a pruned hold when the reservation was held, and nothing taken otherwise.
func (inv *KVInventory) give(ctx context.Context, checkoutID string, l commerce.Reservation, held bool) error {
	return inv.cas(ctx, l.ItemID, func(v *stockValue) bool {
		q, ok := v.Holds[checkoutID]
		switch {
		case q < 0, !ok && !held:
			return false
		case !ok:
			q = l.Quantity
		}
		v.Remaining += q
		if v.Holds == nil {
			v.Holds = map[string]int64{}
		}
		v.Holds[checkoutID] = -q
		return true
	})
}

// cas applies change to the item's count with compare-and-set, retrying when another
// writer got there first. change reports whether it changed anything.
func (inv *KVInventory) cas(ctx context.Context, itemID string, change func(*stockValue) bool) error {
	key := inv.itemKey(itemID)
	for attempt := 0; attempt < 100; attempt++ {
		var v stockValue
		var rev uint64
		inv.mu.RLock()
		c, hit := inv.cache[key]
		inv.mu.RUnlock()
		if hit && attempt == 0 {
			// Try the last value seen first: the compare-and-set tells if it is stale, and
			// most of the time it is not, which saves a round trip.
			v, rev = c.v.clone(), c.rev
		} else {
			e, err := inv.kv.Get(ctx, key)
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
				if s := inv.stock[itemID]; s != nil {
					v.Remaining = *s
				}
			case err != nil:
				return kvTransient("read stock", err)
			default:
				if err := json.Unmarshal(e.Value(), &v); err != nil {
					return fmt.Errorf("bus: stock %s is unreadable: %w", key, err)
				}
				rev = e.Revision()
			}
		}
		if !change(&v) {
			if hit && attempt == 0 {
				continue // decided on a possibly stale value: decide again on the stored one
			}
			return nil
		}
		var err error
		var newRev uint64
		if rev == 0 {
			newRev, err = inv.kv.Create(ctx, key, kvJSON(v))
		} else {
			newRev, err = inv.kv.Update(ctx, key, kvJSON(v), rev)
		}
		if err == nil {
			inv.remember(key, v, newRev)
			return nil
		}
		var apiErr *jetstream.APIError
		if errors.Is(err, jetstream.ErrKeyExists) || (errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
			continue // someone else changed it: read again
		}
		return kvTransient("write stock", err)
	}
	return kvTransient("write stock", errors.New("too much contention"))
}

// remember keeps the newest value seen of a key (by revision).
func (inv *KVInventory) remember(key string, v stockValue, rev uint64) {
	inv.mu.Lock()
	if c, ok := inv.cache[key]; !ok || rev > c.rev {
		inv.cache[key] = kvCached{v: v, rev: rev}
	}
	inv.mu.Unlock()
}

func (v stockValue) clone() stockValue {
	if v.Holds != nil {
		h := make(map[string]int64, len(v.Holds))
		for k, q := range v.Holds {
			h[k] = q
		}
		v.Holds = h
	}
	if v.Allot != nil {
		a := make(map[string]Allotment, len(v.Allot))
		for k, q := range v.Allot {
			a[k] = q
		}
		v.Allot = a
	}
	return v
}

// ErrAllotFenced is what an allotment's change returns when a worker with a newer lease
// epoch has claimed the partition's allotment: the partition is no longer this worker's.
var ErrAllotFenced = errors.New("inventory: the partition's allotment was claimed under a newer epoch")

// Allotted returns, from the watched copy (kept current by this process's own writes),
// partition p's allotment of the item and the item's remaining stock, not allotted.
// An item never used has no allotment and its configured stock remaining.
func (inv *KVInventory) Allotted(itemID string, p int) (allot, remaining int64) {
	inv.mu.RLock()
	c, ok := inv.cache[inv.itemKey(itemID)]
	inv.mu.RUnlock()
	if !ok {
		if s := inv.stock[itemID]; s != nil {
			return 0, *s
		}
		return 0, 0
	}
	return c.v.Allot[strconv.Itoa(p)].N, c.v.Remaining
}

// allotChange applies change to partition p's allotment under epoch, with
// compare-and-set: it fails with ErrAllotFenced when the allotment was claimed under a
// newer epoch, and otherwise records epoch as the allotment's.
func (inv *KVInventory) allotChange(ctx context.Context, itemID string, p int, epoch uint64,
	change func(v *stockValue, a *Allotment) bool) error {
	key := strconv.Itoa(p)
	var fenced bool
	err := inv.cas(ctx, itemID, func(v *stockValue) bool {
		a := v.Allot[key]
		if fenced = a.Epoch > epoch; fenced {
			return false
		}
		changed := a.Epoch != epoch
		a.Epoch = epoch
		if change(v, &a) {
			changed = true
		}
		if !changed {
			return false
		}
		if v.Allot == nil {
			v.Allot = map[string]Allotment{}
		}
		v.Allot[key] = a
		return true
	})
	if err == nil && fenced {
		return ErrAllotFenced
	}
	return err
}

// ClaimAllot makes partition p's allotment of the item this worker's under epoch (its
// lease's): a worker that served p before, with an older epoch, can no longer change it.
// It reads the stored value, so that Allotted is current for p afterwards.
func (inv *KVInventory) ClaimAllot(ctx context.Context, itemID string, p int, epoch uint64) error {
	return inv.allotChange(ctx, itemID, p, epoch, func(*stockValue, *Allotment) bool { return false })
}

// TakeAllot moves need units of the item from remaining into partition p's allotment,
// plus up to chunk more, an eighth at most of what would remain above low (so that the
// next reservations of p cost no round trip, and the partitions together leave the
// bucket well above low), and reports false, taking nothing, when fewer than need
// remain. One compare-and-set.
func (inv *KVInventory) TakeAllot(ctx context.Context, itemID string, p int, epoch uint64, need, chunk, low int64) (bool, error) {
	short := false
	err := inv.allotChange(ctx, itemID, p, epoch, func(v *stockValue, a *Allotment) bool {
		short = v.Remaining < need
		if short {
			return false
		}
		n := need
		if room := v.Remaining - need - low; room > 0 {
			n += min(chunk, room/8)
		}
		v.Remaining -= n
		a.N += n
		return true
	})
	return err == nil && !short, err
}

// ReturnAllot moves n units of partition p's allotment back to remaining (fewer when the
// allotment holds fewer).
func (inv *KVInventory) ReturnAllot(ctx context.Context, itemID string, p int, epoch uint64, n int64) error {
	return inv.allotChange(ctx, itemID, p, epoch, func(v *stockValue, a *Allotment) bool {
		n := min(n, a.N)
		if n <= 0 {
			return false
		}
		a.N -= n
		v.Remaining += n
		return true
	})
}

// OnChange has f told, from the watcher's goroutine, of every change of an item's value
// it sees (another worker's included), with the item's remaining stock. f must not block.
func (inv *KVInventory) OnChange(f func(itemID string, remaining int64)) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.ids = make(map[string]string, len(inv.stock))
	for id := range inv.stock {
		inv.ids[inv.itemKey(id)] = id
	}
	inv.onChange = f
}

// Counted reports whether the item's stock is counted (configured with a stock).
func (inv *KVInventory) Counted(itemID string) bool { return inv.stock[itemID] != nil }

func kvTransient(op string, err error) error { return commerce.Transient("inventory: "+op, err) }

func kvJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TenantInventories opens the stock bucket and returns, for every tenant whose stock is
// counted by the built-in provider, an Inventory kept in it, ready to be handed to
// handlers.Options.Tenants. ctx bounds the bucket watches.
func TenantInventories(ctx context.Context, js jetstream.JetStream, prefix string, tenants map[string]map[string]*int64) (map[string]*KVInventory, error) {
	return TenantInventoriesReplicas(ctx, js, prefix, 1, tenants)
}

// TenantInventoriesReplicas is TenantInventories on a bucket of replicas replicas.
func TenantInventoriesReplicas(ctx context.Context, js jetstream.JetStream, prefix string, replicas int, tenants map[string]map[string]*int64) (map[string]*KVInventory, error) {
	kv, err := StockBucketReplicas(ctx, js, prefix, replicas)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*KVInventory, len(tenants))
	for name, stock := range tenants {
		inv, err := NewKVInventory(ctx, kv, name, stock)
		if err != nil {
			return nil, err
		}
		out[name] = inv
	}
	return out, nil
}
