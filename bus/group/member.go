package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

const (
	memberPrefix = "members."
	leasePrefix  = "lease."
)

// record is the value of both kinds of key. Instance tells a restarted worker's keys
// from those its previous run left behind under the same id.
type record struct {
	Worker     string `json:"worker"`
	Instance   string `json:"instance"`
	Partitions int    `json:"partitions,omitempty"`
}

// Member is this process in the group.
type Member struct {
	cfg      Config
	kv       jetstream.KeyValue
	instance string
	base     time.Time
	slots    []atomic.Pointer[slot]
	events   *queue
	acks     chan Lease
	leaveReq chan context.Context
	stopped  chan struct{}
	stop     context.CancelFunc
	log      *slog.Logger

	// Owned by the run loop.
	memberRev   uint64
	held        map[int]*held
	members     map[string]uint64 // live worker id → revision of its member key
	memberParts map[string]int    // live worker id → the partition count it serves
	leases      map[int]record    // partitions whose lease key holds a value
	leaving     bool
	leaveDone   <-chan struct{}
	lastSeen    uint64 // highest revision the watcher delivered
	syncing     bool   // a new watcher is replaying the bucket; the view is partial

	mu        sync.Mutex
	viewCount int // members in the last reconcile, for Members
}

type held struct {
	epoch, rev uint64
	releasing  bool
	releaseBy  time.Duration
}

// Join binds (or creates) the group's bucket, registers this worker and starts keeping
// its keys alive. It returns once the member has read the bucket, holding no partition
// yet: Acquired events follow. ctx bounds the join only; the member runs until Leave
// (the clean stop) or Stop.
//
// A worker id whose key is still in the bucket (the previous run of this worker died a
// moment ago, or another live worker uses the id) makes Join wait up to two lease TTLs
// for it to expire, then fail.
func Join(ctx context.Context, js jetstream.JetStream, cfg Config) (*Member, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if js == nil {
		return nil, errors.New("group: no JetStream context")
	}
	kv, err := bucket(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	m := &Member{
		cfg:         cfg,
		kv:          kv,
		instance:    hex.EncodeToString(nonce[:]),
		base:        time.Now(),
		slots:       make([]atomic.Pointer[slot], cfg.Partitions),
		events:      newQueue(),
		acks:        make(chan Lease, cfg.Partitions),
		leaveReq:    make(chan context.Context),
		stopped:     make(chan struct{}),
		log:         cfg.Logger.With("worker", cfg.WorkerID),
		held:        map[int]*held{},
		members:     map[string]uint64{},
		memberParts: map[string]int{},
		leases:      map[int]record{},
	}
	runCtx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	w, err := kv.WatchAll(runCtx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("group: watch bucket %s: %w", cfg.Bucket, err)
	}
	// The first assignment must see every member, or this one would reach for
	// partitions that are not its own.
	for initial := true; initial; {
		select {
		case e := <-w.Updates():
			if e == nil {
				initial = false
			} else {
				m.observe(ctx, e)
			}
		case <-ctx.Done():
			cancel()
			return nil, ctx.Err()
		}
	}
	// Members that split a different number of partitions would each think some
	// partitions belong to nobody, or to two of them.
	for id, parts := range m.memberParts {
		if parts != 0 && parts != cfg.Partitions {
			cancel()
			return nil, fmt.Errorf("group: live member %q of bucket %s serves %d partitions, this worker %d: every worker of a group needs the same partition count",
				id, cfg.Bucket, parts, cfg.Partitions)
		}
	}
	if err := m.register(ctx); err != nil {
		cancel()
		return nil, err
	}
	go m.run(runCtx, cancel, w)
	return m, nil
}

// bucket creates the group's bucket or binds the existing one.
//
// The bucket's max age is the lease TTL: every renewal rewrites a key, and a key not
// rewritten for a TTL vanishes; the delete markers the server then leaves tell watchers
// at once. File storage, because a memory bucket loses every lease when the server
// restarts while their holders still count them valid.
func bucket(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         cfg.Bucket,
		Description:    "cartwright worker group: members and partition leases",
		History:        1,
		TTL:            cfg.LeaseTTL,
		LimitMarkerTTL: cfg.LeaseTTL,
		Storage:        jetstream.FileStorage,
		Replicas:       cfg.Replicas,
		MaxBytes:       max(cfg.MaxBytes, 0),
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, cfg.Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("group: bucket %s: %w", cfg.Bucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("group: bucket %s: %w", cfg.Bucket, err)
	}
	// A member whose TTL is longer than the bucket's would count a lease valid after
	// the server has let another member take it.
	if st.TTL() != cfg.LeaseTTL {
		return nil, fmt.Errorf("group: bucket %s expires leases after %v, this worker is configured for %v: every worker of a group needs the same lease TTL",
			cfg.Bucket, st.TTL(), cfg.LeaseTTL)
	}
	return kv, nil
}

// register creates this worker's member key, waiting for one left by a previous run to
// expire.
func (m *Member) register(ctx context.Context) error {
	give := time.Now().Add(2*m.cfg.LeaseTTL + m.cfg.RenewInterval)
	for {
		rev, err := m.kv.Create(ctx, m.memberKey(), m.value(true))
		if err == nil {
			m.memberRev = rev
			m.members[m.cfg.WorkerID] = rev
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("group: register %s: %w", m.cfg.WorkerID, err)
		}
		if time.Now().After(give) {
			return fmt.Errorf("group: worker id %q is in use by a live member of bucket %s", m.cfg.WorkerID, m.cfg.Bucket)
		}
		select {
		case <-time.After(m.cfg.RenewInterval / 2):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Events delivers lease changes in the order they happened. It is closed once the
// member has stopped. Read it: a Releasing event left unread delays a rebalance by
// Config.ReleaseTimeout.
func (m *Member) Events() <-chan Event { return m.events.channel() }

// Stopped is closed once the member has stopped, by Leave or Stop.
func (m *Member) Stopped() <-chan struct{} { return m.stopped }

// Stop stops the member at once without releasing anything, as a crash would: every
// lease turns invalid here and Lost is sent for it, while the others wait for its keys
// to expire (LeaseTTL) before they take its partitions. Leave is the clean stop; Stop is
// for when NATS is unreachable or Leave ran out of time.
func (m *Member) Stop() {
	m.stop()
	<-m.stopped
}

// WorkerID is this member's id.
func (m *Member) WorkerID() string { return m.cfg.WorkerID }

// Members is the number of live members in this member's last view of the group.
func (m *Member) Members() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.viewCount
}

// Leave hands every partition over and leaves the group: it removes the member key so
// that the others count this worker out at once, sends Releasing for every lease, and
// releases each when its Done comes or at Config.ReleaseTimeout. When ctx ends first,
// it releases what is left at once. It returns when the member has stopped.
func (m *Member) Leave(ctx context.Context) error {
	select {
	case m.leaveReq <- ctx:
	case <-m.stopped:
		return nil
	}
	<-m.stopped
	return nil
}

func (m *Member) run(ctx context.Context, cancel context.CancelFunc, w jetstream.KeyWatcher) {
	defer func() {
		// INVARIANT: nothing is valid once the loop is gone, since nothing renews.
		for p, h := range m.held {
			m.slots[p].Store(nil)
			m.emit(Lost, p, h.epoch)
		}
		clear(m.held)
		cancel()
		close(m.stopped)
		m.events.close()
	}()
	tick := time.NewTicker(m.cfg.RenewInterval)
	defer tick.Stop()
	updates := w.Updates()
	m.reconcile(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-updates:
			if !ok {
				// The watcher gave up; the next tick opens another, which replays
				// the bucket.
				updates = nil
				continue
			}
			if e == nil {
				m.syncing = false
			} else {
				m.observe(ctx, e)
			}
			m.reconcile(ctx)
		case <-tick.C:
			// The watcher shows this member's own writes. One that has not shown the
			// member key written a tick ago is stuck: its consumer lived on a server
			// that went away, and the client would notice only after missed
			// heartbeats, seconds past the lease TTL. A new watcher replays the bucket.
			if updates == nil || m.syncing || (m.memberRev != 0 && m.lastSeen < m.memberRev) {
				if updates != nil {
					w.Stop()
				}
				updates = nil
				if nw, err := m.kv.WatchAll(ctx); err == nil {
					w, updates = nw, nw.Updates()
					clear(m.members)
					clear(m.memberParts)
					clear(m.leases)
					m.syncing = true
				} else {
					m.log.Warn("group: watch bucket", "err", err)
				}
			}
			m.renew(ctx)
			m.refresh(ctx)
			m.reconcile(ctx)
		case l := <-m.acks:
			if h := m.held[l.Partition]; h != nil && h.epoch == l.Epoch && h.releasing {
				m.release(ctx, l.Partition)
			}
			m.reconcile(ctx)
		case lctx := <-m.leaveReq:
			m.leave(ctx, lctx)
		case <-m.leaveDone:
			m.leaveDone = nil
			for p := range m.held {
				m.release(ctx, p)
			}
		}
		if m.leaving && len(m.held) == 0 {
			w.Stop()
			return
		}
	}
}

// observe applies one watched entry to the view.
func (m *Member) observe(ctx context.Context, e jetstream.KeyValueEntry) {
	m.lastSeen = max(m.lastSeen, e.Revision())
	key, put := e.Key(), e.Operation() == jetstream.KeyValuePut
	switch {
	case strings.HasPrefix(key, memberPrefix):
		id := strings.TrimPrefix(key, memberPrefix)
		if put {
			m.members[id] = e.Revision()
			var r record
			if json.Unmarshal(e.Value(), &r) == nil {
				m.memberParts[id] = r.Partitions
			}
		} else {
			delete(m.members, id)
			delete(m.memberParts, id)
		}
		// The server removed this member's key (expired while the process was
		// paused): count it out until the next renewal creates it again.
		if id == m.cfg.WorkerID && !put && e.Revision() > m.memberRev {
			m.memberRev = 0
		}
	case strings.HasPrefix(key, leasePrefix):
		p, err := strconv.Atoi(strings.TrimPrefix(key, leasePrefix))
		if err != nil || p < 0 || p >= m.cfg.Partitions {
			return
		}
		var r record
		if put {
			if json.Unmarshal(e.Value(), &r) != nil {
				r = record{} // still held, by something unreadable: leave it alone
			}
			m.leases[p] = r
		} else {
			delete(m.leases, p)
		}
		h := m.held[p]
		switch {
		case h == nil || e.Revision() <= h.rev:
		case put && r.Instance == m.instance:
			// A renewal whose reply was lost but which the server stored: renew on
			// top of it. The deadline stays that of the last confirmed renewal.
			h.rev = e.Revision()
		default:
			// A later revision not written by this member means the lease is gone,
			// however its local deadline reads.
			m.lose(ctx, p, "lease key changed", false)
		}
	}
}

// renewHook, when set, runs before each round of renewals (SetRenewHook).
var renewHook atomic.Pointer[func()]

// SetRenewHook makes every member call f before each round of renewals, on the goroutine
// that renews: an f that blocks makes the renewals late, as a process starved of CPU
// would. nil removes it. For tests.
func SetRenewHook(f func()) {
	if f == nil {
		renewHook.Store(nil)
		return
	}
	renewHook.Store(&f)
}

// renew rewrites the member key and every held lease, each conditional on the revision
// this member wrote last.
func (m *Member) renew(ctx context.Context) {
	if f := renewHook.Load(); f != nil {
		(*f)()
	}
	rctx, cancel := context.WithTimeout(ctx, m.cfg.RenewInterval)
	defer cancel()
	if !m.leaving {
		if m.memberRev != 0 {
			rev, err := m.kv.Update(rctx, m.memberKey(), m.value(true), m.memberRev)
			switch {
			case err == nil:
				m.memberRev = rev
			case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyNotFound):
				m.log.Warn("group: membership expired; joining again")
				m.memberRev = 0
			default:
				m.log.Warn("group: renew membership", "err", err)
			}
		}
		if m.memberRev == 0 {
			if rev, err := m.kv.Create(rctx, m.memberKey(), m.value(true)); err == nil {
				m.memberRev = rev
				m.members[m.cfg.WorkerID] = rev
			}
		}
	}
	for _, p := range sortedKeys(m.held) {
		h := m.held[p]
		sent := m.now()
		s := m.slots[p].Load()
		if s == nil || sent >= s.deadline {
			m.lose(rctx, p, "not renewed in time", true)
			continue
		}
		rev, err := m.kv.Update(rctx, leaseKey(p), m.value(false), h.rev)
		switch {
		case err == nil && m.now() >= s.deadline:
			// Confirmed too late: the caller may already have stopped on the expired
			// lease, and an epoch that turned invalid must stay so.
			h.rev = rev
			m.lose(rctx, p, "renewed after its deadline", true)
		case err == nil:
			h.rev = rev
			m.slots[p].Store(&slot{epoch: h.epoch, deadline: sent + m.cfg.LeaseTTL - m.cfg.SafetyMargin})
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyNotFound):
			m.lose(ctx, p, "lease expired on the server", false)
		default:
			m.log.Warn("group: renew lease", "partition", p, "err", err)
		}
	}
}

// reconcile moves this member toward the assignment of its current view: it releases
// what is no longer its share and tries to acquire what is.
func (m *Member) reconcile(ctx context.Context) {
	now := m.now()
	for _, p := range sortedKeys(m.held) {
		if h := m.held[p]; h.releasing && now >= h.releaseBy {
			m.log.Warn("group: release not confirmed in time; releasing anyway", "partition", p)
			m.release(ctx, p)
		}
	}
	if m.leaving || m.syncing {
		return
	}
	ids := m.memberIDs()
	m.mu.Lock()
	m.viewCount = len(ids)
	m.mu.Unlock()
	target := Assign(ids, m.cfg.Partitions)
	for p, owner := range target {
		h := m.held[p]
		switch {
		case h != nil && owner != m.cfg.WorkerID && !h.releasing:
			m.startRelease(p, h)
		case h == nil && owner == m.cfg.WorkerID && m.memberRev != 0:
			if _, taken := m.leases[p]; !taken && !m.acquire(ctx, p) {
				// The server is slow or away: more attempts would only hold up the
				// renewals of what this member holds.
				return
			}
		}
	}
}

// refresh reads again the leases this member waits for, in case the watcher missed
// the marker of one that expired.
func (m *Member) refresh(ctx context.Context) {
	if m.leaving || m.syncing || m.memberRev == 0 {
		return
	}
	ids := m.memberIDs()
	gctx, cancel := context.WithTimeout(ctx, m.cfg.RenewInterval)
	defer cancel()
	for p, owner := range Assign(ids, m.cfg.Partitions) {
		if _, taken := m.leases[p]; !taken || owner != m.cfg.WorkerID || m.held[p] != nil {
			continue
		}
		if _, err := m.kv.Get(gctx, leaseKey(p)); errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			delete(m.leases, p)
		}
	}
}

func (m *Member) memberIDs() []string {
	ids := make([]string, 0, len(m.members))
	for id := range m.members {
		ids = append(ids, id)
	}
	return ids
}

// acquire tries to create lease p. It reports false when the server did not answer,
// true when it did, whether the lease was free or not.
func (m *Member) acquire(ctx context.Context, p int) bool {
	actx, cancel := context.WithTimeout(ctx, m.cfg.RenewInterval/2)
	defer cancel()
	sent := m.now()
	rev, err := m.kv.Create(actx, leaseKey(p), m.value(false))
	if err != nil {
		// Taken meanwhile, or the server is away: the view or the next tick says when
		// to try again.
		m.log.Debug("group: acquire", "partition", p, "err", err)
		var answered *jetstream.APIError
		return errors.Is(err, jetstream.ErrKeyExists) || errors.As(err, &answered)
	}
	m.held[p] = &held{epoch: rev, rev: rev}
	m.leases[p] = record{Worker: m.cfg.WorkerID, Instance: m.instance}
	m.slots[p].Store(&slot{epoch: rev, deadline: sent + m.cfg.LeaseTTL - m.cfg.SafetyMargin})
	m.log.Info("group: partition acquired", "partition", p, "epoch", rev)
	m.emit(Acquired, p, rev)
	return true
}

func (m *Member) startRelease(p int, h *held) {
	h.releasing = true
	h.releaseBy = m.now() + m.cfg.ReleaseTimeout
	m.log.Info("group: releasing partition", "partition", p, "epoch", h.epoch)
	m.emit(Releasing, p, h.epoch)
}

// release gives a lease up.
// INVARIANT: the lease turns invalid here before the delete is sent, so that no one
// acquires it while Valid still says yes.
func (m *Member) release(ctx context.Context, p int) {
	h := m.held[p]
	m.slots[p].Store(nil)
	delete(m.held, p)
	dctx, cancel := context.WithTimeout(ctx, m.cfg.RenewInterval)
	defer cancel()
	if err := m.kv.Delete(dctx, leaseKey(p), jetstream.LastRevision(h.rev)); err != nil {
		m.log.Warn("group: release lease; it expires instead", "partition", p, "err", err)
	} else {
		m.log.Info("group: partition released", "partition", p, "epoch", h.epoch)
	}
}

// lose drops a lease that went without a hand-over. free deletes the key when this
// member may still be its last writer, so that the next owner need not wait for it to
// expire; ctx bounds that.
func (m *Member) lose(ctx context.Context, p int, why string, free bool) {
	h := m.held[p]
	m.slots[p].Store(nil)
	delete(m.held, p)
	m.log.Warn("group: partition lost", "partition", p, "epoch", h.epoch, "why", why)
	m.emit(Lost, p, h.epoch)
	if free {
		_ = m.kv.Delete(ctx, leaseKey(p), jetstream.LastRevision(h.rev))
	}
}

func (m *Member) leave(ctx, lctx context.Context) {
	m.leaving = true
	m.leaveDone = lctx.Done()
	dctx, cancel := context.WithTimeout(ctx, m.cfg.RenewInterval)
	defer cancel()
	if m.memberRev != 0 {
		if err := m.kv.Delete(dctx, m.memberKey(), jetstream.LastRevision(m.memberRev)); err != nil {
			m.log.Warn("group: leave: remove member key; it expires instead", "err", err)
		}
		m.memberRev = 0
	}
	for _, p := range sortedKeys(m.held) {
		if h := m.held[p]; !h.releasing {
			m.startRelease(p, h)
		}
	}
}

func (m *Member) emit(k EventKind, p int, epoch uint64) {
	m.events.push(Event{Kind: k, Lease: Lease{Partition: p, Epoch: epoch}, m: m})
}

func (m *Member) memberKey() string { return memberPrefix + m.cfg.WorkerID }

func leaseKey(p int) string { return leasePrefix + strconv.Itoa(p) }

func (m *Member) value(member bool) []byte {
	r := record{Worker: m.cfg.WorkerID, Instance: m.instance}
	if member {
		r.Partitions = m.cfg.Partitions
	}
	b, _ := json.Marshal(r)
	return b
}

func sortedKeys(h map[int]*held) []int {
	ks := make([]int, 0, len(h))
	for k := range h {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
