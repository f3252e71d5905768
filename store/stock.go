package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// Stock keeps the built-in inventory's counts in the store, so that a reservation is
// committed in the same batch, with the same fsync, as the checkout that made it and the
// idempotency record that answers its redelivery: a completion either happened with its
// stock taken, or neither happened. There is nothing to undo after a crash and nothing to
// make idempotent across systems.
//
// What is held, per tenant and item, is the sum of per-partition counters ('v' keys),
// each written only by its partition's batches (a context always maps to the same
// partition, so its checkout's reservation is taken and given back by one writer). Each
// checkout's reservation is a record ('r' key) naming its lines, deleted when released.
//
// In memory, Stock keeps what is held, all partitions together: committed reservations
// plus those taken by batches not yet committed, so that two partitions never sell the
// same last unit. A reservation counts at once and is undone if its batch is discarded or
// fails to commit; a release counts only once its batch is committed.
//
// Available is the configured stock less what is held: the configured figure is the
// number of units the store may ever have sold and not given back. To restock, raise it
// in the configuration (by the units received) and restart.
//
// One process serves the stream's partitions (see package bus); stock shared with other
// processes lives in a JetStream bucket instead (providers.KVInventory).
type Stock struct {
	s      *Store
	limits map[string]map[string]*int64 // tenant → item → configured stock; nil: not counted

	// shared, when set, keeps the stock in the JetStream bucket, each partition reserving
	// from its allotment (see OpenSharedStock); nil: the configured stock is counted here.
	shared     map[string]*providers.KVInventory // by tenant
	chunk, low int64

	mu   sync.Mutex
	held map[string]int64   // tenant 0x00 item → held, committed and in flight
	part map[partItem]int64 // committed value of each partition's counter
	pend map[partItem]int64 // reservations of each partition in flight
	// With shared: the lease epoch each partition was taken under, and the epoch under
	// which its allotment of an item was claimed.
	epoch   map[int]uint64
	claimed map[partItem]uint64
	// plock serializes, per partition, a reservation's check of the allotment with its
	// count in pend, and giving back the spare: the one must not see an allotment the
	// other is giving back.
	plock map[int]*sync.Mutex
	// settling is the items (tenant 0x00 item) whose spare is being given back after the
	// bucket ran low (settleIdle).
	settling map[string]bool
}

type partItem struct {
	partition int
	key       string // tenant 0x00 item
}

// OpenStock serves the stock of limits (tenant → item → configured stock, nil for items
// whose stock is not counted) from s, reading what is held.
func OpenStock(s *Store, limits map[string]map[string]*int64) (*Stock, error) {
	st := &Stock{s: s, limits: limits, held: map[string]int64{}, part: map[partItem]int64{},
		pend: map[partItem]int64{}, epoch: map[int]uint64{}, claimed: map[partItem]uint64{},
		plock: map[int]*sync.Mutex{}, settling: map[string]bool{}}
	counters, err := st.read(-1)
	if err != nil {
		return nil, err
	}
	for pi, n := range counters {
		st.part[pi] = n
		st.held[pi.key] += n
	}
	s.stocks.add(st)
	return st, nil
}

// read returns the committed counters of partition p (every partition when p < 0).
func (st *Stock) read(p int) (map[partItem]int64, error) {
	out := map[partItem]int64{}
	lo, hi := tagBounds(tagStockCount)
	it, err := st.s.db.NewIter(nil)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for ok := it.SeekGE(lo); ok && string(it.Key()) < string(hi); ok = it.Next() {
		k := it.Key()
		v := it.Value()
		if len(k) < 4 || len(v) != 8 {
			return nil, fmt.Errorf("store: stock counter %q: %w", k, errCorrupt)
		}
		part := int(binary.BigEndian.Uint16(k[len(k)-2:]))
		if p >= 0 && part != p {
			continue
		}
		out[partItem{part, string(k[1 : len(k)-2])}] = int64(binary.BigEndian.Uint64(v))
	}
	return out, it.Error()
}

// reload reads partition p's counters again, after a restore replaced them in the store
// (another worker served p meanwhile): what is held is what p's restored reservations
// hold, not what this worker counted for p when it last served it.
// REQUIRES: no batch of p is in flight.
func (st *Stock) reload(p int) error {
	counters, err := st.read(p)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for pi, n := range st.part {
		if pi.partition == p {
			if _, ok := counters[pi]; !ok {
				st.held[pi.key] -= n
				delete(st.part, pi)
			}
		}
	}
	for pi, n := range counters {
		st.held[pi.key] += n - st.part[pi]
		st.part[pi] = n
	}
	return nil
}

// stockRegistry is the Stocks kept in one store.
type stockRegistry struct {
	mu   sync.Mutex
	list []*Stock
}

func (r *stockRegistry) add(st *Stock) {
	r.mu.Lock()
	r.list = append(r.list, st)
	r.mu.Unlock()
}

// PartitionTaken tells the store that this worker took partition p under the lease
// epoch, its state restored from the changelog (possibly replaced: another worker served
// p meanwhile): the stock counted in memory for p is read again from the store, and with
// allotments p's are claimed again under epoch before p reserves from them.
// REQUIRES: no batch of p is in flight.
func (s *Store) PartitionTaken(p int, epoch uint64) error {
	s.stocks.mu.Lock()
	list := slices.Clone(s.stocks.list)
	s.stocks.mu.Unlock()
	for _, st := range list {
		if err := st.taken(p, epoch); err != nil {
			return err
		}
	}
	return nil
}

func (st *Stock) taken(p int, epoch uint64) error {
	l := st.partLock(p) // no settleIdle of p meanwhile
	l.Lock()
	defer l.Unlock()
	if err := st.reload(p); err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.epoch[p] = epoch
	for pi := range st.claimed {
		if pi.partition == p {
			delete(st.claimed, pi)
		}
	}
	return nil
}

// itemKey is how Stock keys an item: tenant 0x00 item (ids never hold 0x00).
func itemKey(tenant, item string) string { return tenant + "\x00" + item }

// Held returns the units of tenant's item held by committed and in-flight reservations.
func (st *Stock) Held(tenant, item string) int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.held[itemKey(tenant, item)]
}

// limit returns the item's configured stock, or ok=false when it is not counted.
func (st *Stock) limit(tenant, item string) (int64, bool) {
	n := st.limits[tenant][item]
	if n == nil {
		return 0, false
	}
	return *n, true
}

// Available returns how many units of the item may be sold now (see commerce.Inventory).
func (st *Stock) Available(tenant, item string) (n int64, unlimited bool) {
	lim, ok := st.limit(tenant, item)
	if !ok {
		return 0, true
	}
	if inv := st.shared[tenant]; inv != nil {
		// What remains in the bucket, and what the partitions served here hold spare: a
		// hint that never says less than a partition of this worker can reserve.
		_, n = inv.Allotted(item, 0)
		st.mu.Lock()
		defer st.mu.Unlock()
		for p := range st.epoch {
			a, _ := inv.Allotted(item, p)
			pi := partItem{p, itemKey(tenant, item)}
			n += max(a-st.part[pi]-st.pend[pi], 0)
		}
		return max(n, 0), false
	}
	return max(lim-st.Held(tenant, item), 0), false
}

// stockChange is one change a batch made to what is held.
type stockChange struct {
	key   string // tenant 0x00 item
	delta int64  // > 0 taken, < 0 given back
}

// batchStock is what a batch does to the stock.
type batchStock struct {
	st        *Stock
	partition int
	changes   []stockChange
	delta     map[string]int64           // by tenant 0x00 item: this batch's net change
	res       map[string]*reservationRec // by 'r' key: read or written by this batch; nil: none
	// flushed is how many of changes have their counters in the Pebble batch.
	flushed int
}

type reservationRec struct {
	lines []commerce.Reservation
}

// Reserve takes lines' quantities for the checkout within the batch, all or nothing (see
// commerce.Inventory.Reserve). Reserving again for a checkout that holds its reservation
// takes nothing more and succeeds.
func (b *Batch) Reserve(st *Stock, tenant, checkoutID string, lines []commerce.Reservation) (ok bool, short string, err error) {
	bs := b.stock(st)
	key := reservationKey(tenant, checkoutID)
	r, err := bs.reservation(key)
	if err != nil {
		return false, "", err
	}
	if r != nil {
		return true, "", nil
	}
	// The quantity per counted item, in the order the lines name them.
	var want []commerce.Reservation
	for _, l := range lines {
		if _, counted := st.limit(tenant, l.ItemID); !counted || l.Quantity <= 0 {
			continue
		}
		i := slices.IndexFunc(want, func(w commerce.Reservation) bool { return w.ItemID == l.ItemID })
		if i < 0 {
			want = append(want, commerce.Reservation{CheckoutID: checkoutID, ItemID: l.ItemID})
			i = len(want) - 1
		}
		want[i].Quantity += l.Quantity
	}
	if st.shared != nil {
		l := st.partLock(b.Partition)
		l.Lock()
		defer l.Unlock()
		if ok, short, err := st.allot(b.Partition, tenant, want); !ok || err != nil {
			return false, short, err
		}
	}
	st.mu.Lock()
	for _, w := range want {
		if lim, _ := st.limit(tenant, w.ItemID); st.shared == nil && st.held[itemKey(tenant, w.ItemID)]+w.Quantity > lim {
			st.mu.Unlock()
			return false, w.ItemID, nil
		}
	}
	for _, w := range want {
		st.held[itemKey(tenant, w.ItemID)] += w.Quantity
		st.pend[partItem{b.Partition, itemKey(tenant, w.ItemID)}] += w.Quantity
	}
	st.mu.Unlock()
	for _, w := range want {
		bs.change(itemKey(tenant, w.ItemID), w.Quantity)
	}
	bs.put(b, key, &reservationRec{lines: want})
	return true, "", nil
}

// Release gives back, within the batch, what the checkout holds; nothing when it holds
// nothing.
func (b *Batch) Release(st *Stock, tenant, checkoutID string) error {
	bs := b.stock(st)
	key := reservationKey(tenant, checkoutID)
	r, err := bs.reservation(key)
	if err != nil || r == nil {
		return err
	}
	for _, l := range r.lines {
		bs.change(itemKey(tenant, l.ItemID), -l.Quantity)
	}
	bs.put(b, key, nil)
	return nil
}

func (b *Batch) stock(st *Stock) *batchStock {
	if b.st == nil {
		b.st = &batchStock{st: st, partition: b.Partition, delta: map[string]int64{}, res: map[string]*reservationRec{}}
	}
	if b.st.st != st {
		panic("store: one batch, two Stocks")
	}
	return b.st
}

func (bs *batchStock) reservation(key []byte) (*reservationRec, error) {
	if r, ok := bs.res[string(key)]; ok {
		return r, nil
	}
	var r *reservationRec
	if !bs.st.s.present.mayHave(key) {
		bs.res[string(key)] = nil // none: the checkout holds nothing
		return nil, nil
	}
	err := bs.st.s.view(key, func(v []byte) error {
		if v == nil {
			return nil
		}
		lines, err := decodeReservation(v) // copies what it keeps
		if err != nil {
			return fmt.Errorf("store: reservation %q: %w", key, err)
		}
		r = &reservationRec{lines: lines}
		return nil
	})
	if err != nil {
		return nil, err
	}
	bs.res[string(key)] = r
	return r, nil
}

// put stages the checkout's reservation (nil: none), for Batch.Rollback to take back.
func (bs *batchStock) put(b *Batch, key []byte, r *reservationRec) {
	prev, had := bs.res[string(key)]
	b.staged = append(b.staged, staged{kind: stagedReservation, key: key, had: had, res: prev})
	bs.res[string(key)] = r
}

func (bs *batchStock) undoReservation(w *staged) {
	if w.had {
		bs.res[string(w.key)] = w.res
	} else {
		delete(bs.res, string(w.key))
	}
}

func (bs *batchStock) flushReservation(b *Batch, w *staged) {
	if r := bs.res[string(w.key)]; r != nil {
		b.s.present.add(w.key) // before the commit: presenceFilter's invariant
		b.b.Set(w.key, encodeReservation(r.lines), nil)
	} else {
		b.b.Delete(w.key, nil)
	}
}

// change records delta on the item.
func (bs *batchStock) change(key string, delta int64) {
	bs.changes = append(bs.changes, stockChange{key: key, delta: delta})
	bs.delta[key] += delta
}

// flush writes the counters of the items changed since the last flush as they will be
// once the batch is committed.
func (bs *batchStock) flush(b *Batch) {
	if bs.flushed == len(bs.changes) {
		return
	}
	bs.st.mu.Lock()
	defer bs.st.mu.Unlock()
	for _, c := range bs.changes[bs.flushed:] {
		v := bs.st.part[partItem{b.Partition, c.key}] + bs.delta[c.key]
		b.b.Set(stockCountKey(c.key, b.Partition), binary.BigEndian.AppendUint64(nil, uint64(v)), nil)
	}
	bs.flushed = len(bs.changes)
}

// rollback undoes the changes made since the last flush, the reservations counted at
// once among them.
func (bs *batchStock) rollback() {
	bs.st.mu.Lock()
	defer bs.st.mu.Unlock()
	for _, c := range bs.changes[bs.flushed:] {
		bs.delta[c.key] -= c.delta
		if c.delta > 0 {
			bs.st.held[c.key] -= c.delta
			bs.st.pend[partItem{bs.partition, c.key}] -= c.delta
		}
	}
	bs.changes = bs.changes[:bs.flushed]
}

// committed counts the batch's releases and its counters once it is durable; with
// allotments, it then gives back to the bucket what the partition holds spare of the
// items the batch changed (see settle).
func (bs *batchStock) committed(partition int) {
	bs.st.mu.Lock()
	for _, c := range bs.changes {
		if c.delta < 0 {
			bs.st.held[c.key] += c.delta
		} else {
			bs.st.pend[partItem{partition, c.key}] -= c.delta
		}
	}
	for k, d := range bs.delta {
		bs.st.part[partItem{partition, k}] += d
	}
	bs.st.mu.Unlock()
	if bs.st.shared != nil {
		for k := range bs.delta {
			bs.st.settle(partition, k)
		}
	}
}

// discarded undoes the batch's reservations: none of them happened.
func (bs *batchStock) discarded() {
	bs.st.mu.Lock()
	defer bs.st.mu.Unlock()
	for _, c := range bs.changes {
		if c.delta > 0 {
			bs.st.held[c.key] -= c.delta
			bs.st.pend[partItem{bs.partition, c.key}] -= c.delta
		}
	}
}

// encodeReservation frames a checkout's reserved lines: version(1)=1 | count(uvarint) |
// per line: item(uvarint len, bytes) quantity(varint).
func encodeReservation(lines []commerce.Reservation) []byte {
	b := []byte{codecVersion}
	b = binary.AppendUvarint(b, uint64(len(lines)))
	for _, l := range lines {
		b = appendString(b, l.ItemID)
		b = binary.AppendVarint(b, l.Quantity)
	}
	return b
}

func decodeReservation(v []byte) ([]commerce.Reservation, error) {
	if len(v) == 0 || v[0] != codecVersion {
		return nil, errCorrupt
	}
	r := &reader{b: v[1:]}
	n := r.uvarint()
	if n > uint64(len(v)) {
		return nil, errCorrupt
	}
	lines := make([]commerce.Reservation, 0, n)
	for i := uint64(0); i < n; i++ {
		item := string(r.bytes(r.uvarint()))
		q := r.varint()
		lines = append(lines, commerce.Reservation{ItemID: item, Quantity: q})
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errCorrupt
	}
	return lines, nil
}

// OpenSharedStock is OpenStock for a group of workers: the stock of every tenant in
// shared (by tenant) is kept in the JetStream bucket, and each partition reserves from
// its allotment there (providers.KVInventory.TakeAllot), its reservations and counters
// kept in the store as with OpenStock, so that they move with the partition's changelog.
//
// A reservation that its partition's allotment covers costs no round trip; one that it
// does not takes what is missing with one compare-and-set, plus chunk more while at
// least low would still remain in the bucket. Once fewer than low remain, the
// partitions take exactly what they reserve and give back what they hold spare after
// each commit, so that the last units go to whichever partition asks.
//
// Every change of a partition's allotment carries the lease epoch it was taken under
// (Store.PartitionTaken); a worker that lost the partition can no longer change it.
func OpenSharedStock(s *Store, limits map[string]map[string]*int64, shared map[string]*providers.KVInventory, chunk, low int64) (*Stock, error) {
	st, err := OpenStock(s, limits)
	if err != nil {
		return nil, err
	}
	st.shared, st.chunk, st.low = shared, chunk, low
	for tenant, inv := range shared {
		inv.OnChange(func(item string, remaining int64) {
			if remaining < low {
				st.settleIdle(itemKey(tenant, item))
			}
		})
	}
	return st, nil
}

// partLock is partition p's lock (see Stock.plock).
func (st *Stock) partLock(p int) *sync.Mutex {
	st.mu.Lock()
	defer st.mu.Unlock()
	l := st.plock[p]
	if l == nil {
		l = &sync.Mutex{}
		st.plock[p] = l
	}
	return l
}

// settleIdle gives back, in the background, the spare of an item that every partition
// this worker took holds, once the bucket runs low: a partition that sees no more
// reservations or releases of the item would otherwise keep its spare from the buyers
// of other partitions. A partition another worker has taken since is fenced off by its
// epoch.
func (st *Stock) settleIdle(key string) {
	st.mu.Lock()
	if st.settling[key] {
		st.mu.Unlock()
		return
	}
	st.settling[key] = true
	parts := make([]int, 0, len(st.epoch))
	for p := range st.epoch {
		parts = append(parts, p)
	}
	st.mu.Unlock()
	go func() {
		for _, p := range parts {
			st.settle(p, key)
		}
		st.mu.Lock()
		delete(st.settling, key)
		st.mu.Unlock()
	}()
}

// stockTimeout bounds each round trip to the bucket.
const stockTimeout = 10 * time.Second

// claim makes sure partition p's allotment of the item was claimed under p's epoch, and
// returns the epoch.
func (st *Stock) claim(ctx context.Context, inv *providers.KVInventory, p int, pi partItem, item string) (uint64, error) {
	st.mu.Lock()
	ep := st.epoch[p]
	c, ok := st.claimed[pi]
	st.mu.Unlock()
	if ok && c == ep {
		return ep, nil
	}
	if err := inv.ClaimAllot(ctx, item, p, ep); err != nil {
		st.fenced(p, ep, err)
		return ep, err
	}
	st.mu.Lock()
	st.claimed[pi] = ep
	st.mu.Unlock()
	return ep, nil
}

// allot makes sure partition p's allotment covers want on top of what p holds, taking
// what is missing from the bucket. It reports the first item the bucket is short of.
func (st *Stock) allot(p int, tenant string, want []commerce.Reservation) (ok bool, short string, err error) {
	inv := st.shared[tenant]
	if inv == nil {
		return false, "", fmt.Errorf("store: tenant %q has no stock bucket", tenant)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stockTimeout)
	defer cancel()
	for _, w := range want {
		pi := partItem{p, itemKey(tenant, w.ItemID)}
		ep, err := st.claim(ctx, inv, p, pi, w.ItemID)
		if err != nil {
			return false, "", err
		}
		a, _ := inv.Allotted(w.ItemID, p)
		st.mu.Lock()
		need := st.part[pi] + st.pend[pi] + w.Quantity - a
		st.mu.Unlock()
		if need <= 0 {
			continue
		}
		ok, err := inv.TakeAllot(ctx, w.ItemID, p, ep, need, st.chunk, st.low)
		if err != nil {
			st.fenced(p, ep, err)
			return false, "", err
		}
		if !ok {
			return false, w.ItemID, nil
		}
	}
	return true, "", nil
}

// settle gives back to the bucket what partition p holds spare of an item (tenant 0x00
// item): all of it once fewer than low units remain there, else what exceeds two chunks.
// A failure leaves the spare with p, which gives it back at a later commit.
func (st *Stock) settle(p int, key string) {
	tenant, item, _ := strings.Cut(key, "\x00")
	inv := st.shared[tenant]
	if inv == nil {
		return
	}
	if a, _ := inv.Allotted(item, p); a <= 0 {
		return // nothing to give back (as far as this worker knows)
	}
	l := st.partLock(p)
	l.Lock()
	defer l.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), stockTimeout)
	defer cancel()
	pi := partItem{p, key}
	ep, err := st.claim(ctx, inv, p, pi, item)
	if err != nil {
		return
	}
	a, remaining := inv.Allotted(item, p)
	st.mu.Lock()
	spare := a - st.part[pi] - st.pend[pi]
	st.mu.Unlock()
	n := int64(0)
	switch {
	case remaining < st.low:
		n = spare
	case spare > 2*st.chunk:
		n = spare - st.chunk
	}
	if n > 0 {
		if err := inv.ReturnAllot(ctx, item, p, ep, n); err != nil {
			// It may have been applied all the same (a timeout): the allotment this worker
			// knows may be too large, so it is read again before p sells from it.
			st.mu.Lock()
			delete(st.claimed, pi)
			st.mu.Unlock()
			st.fenced(p, ep, err)
		}
	}
}

// fenced forgets partition p, taken under ep, when err says that a newer epoch claimed
// its allotment: p is another worker's, and settleIdle no longer tries it.
func (st *Stock) fenced(p int, ep uint64, err error) {
	if !errors.Is(err, providers.ErrAllotFenced) {
		return
	}
	st.mu.Lock()
	if st.epoch[p] == ep {
		delete(st.epoch, p)
	}
	st.mu.Unlock()
}
