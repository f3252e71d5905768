package bus

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/store"
)

// The changelog is what lets a partition's state move to another worker
// (docs/workers.md, "The changelog"): every committed chunk's changes to the tables that
// move with a partition (store.Batch.Changes) go to the stream <PREFIX>_CL, subject
// <prefix>.cl.<p>.chunk, one message per chunk, before anything of the chunk is
// published or acknowledged; a worker that takes the partition replays them into its
// own store (Restore) and writes an epoch marker <prefix>.cl.<p>._epoch (Take).
//
// INVARIANT: every write of partition p expects the last sequence under <prefix>.cl.<p>.>
// to be the one its writer last wrote or restored up to. A Take by another worker moves
// that sequence, so the previous owner's next write fails (ErrFenced) whatever its
// clock says, and its chunk goes no further: no reply, no ack.
//
// INVARIANT: a chunk the store committed and the changelog may lack has a pending record
// (store.Batch.HoldChanges) until its write; its messages are held meanwhile, and the
// next take of its partition in this store writes it or drops it (settle) before the
// partition is served again.
//
// INVARIANT: a chunk's outbox messages are in its changelog message, and a take puts in
// the taker's outbox those of every chunk with an envelope above the partition
// consumer's ack floor (acknowledged means published); a store publishes a chunk's
// messages only while it holds the partition (store.HeldOutbox), and the next take of
// the partition in it lets them go, or drops them if another writer wrote since (it
// published them).

// ErrFenced is the error of a changelog write refused because another writer wrote to
// the partition's changelog since this one last did: the partition belongs to someone
// else now.
var ErrFenced = errors.New("bus: changelog fenced: another worker took the partition")

// senderFault, set by tests only, is asked about every committed chunk with changelog
// entries before its changelog write: true drops the chunk there, unwritten, unpublished,
// unacknowledged and still claimed, as a process killed at that point would leave it.
var senderFault atomic.Pointer[func(p int) bool]

// publishFault, set by tests only, is asked about every committed chunk with changelog
// entries after its changelog write and before its publish (with the number of
// envelopes it acknowledges): true drops the chunk there, as senderFault does.
var publishFault atomic.Pointer[func(p, envelopes int) bool]

const (
	hdrEpoch = "Cartwright-Epoch"
	// hdrPart numbers the messages of a chunk too large for one ("2/3"); a chunk applies
	// only once its last part is read, so that a writer that failed half way leaves
	// nothing half applied.
	hdrPart = "Cartwright-Part"
	// hdrWriter names the store that wrote a chunk or a marker (store.Token), and
	// hdrPending the pending records (store.HoldChanges) a chunk writes: a store whose
	// record of a write was lost in a crash (it is not synced) knows its own chunks after
	// its position apart from another writer's (see settle).
	hdrWriter  = "Cartwright-Writer"
	hdrPending = "Cartwright-Pending"
	// hdrTop is the highest stream sequence of the envelopes a chunk acknowledges: a
	// restore keeps the chunk's outbox messages when it is above the partition
	// consumer's ack floor (they are published before the envelopes are acknowledged).
	hdrTop = "Cartwright-Seq"
)

// ChangelogStream is the changelog stream's name.
func (t Topology) ChangelogStream() string { return t.stream("CL") }

// ChangelogFilter is the subject filter of partition p's changelog.
func (t Topology) ChangelogFilter(p int) string { return t.Prefix + ".cl." + strconv.Itoa(p) + ".>" }

func (t Topology) changelogSubject(p int, name string) string {
	return t.Prefix + ".cl." + strconv.Itoa(p) + "." + name
}

// Changelog writes and restores the partitions' changelogs of one store.
type Changelog struct {
	js    jetstream.JetStream
	topo  Topology
	st    *store.Store
	parts []clPart
	// maxPart is the most bytes of entries one message carries.
	maxPart int
	// token names this store in what it writes (hdrWriter).
	token string
	// AckFloor, when set, returns the ack floor (a stream sequence of the inbound
	// stream) of partition p's consumer, and false when there is none: a restore puts in
	// the outbox the messages of the chunks with an envelope above it. Unset, or false,
	// the restore keeps none.
	AckFloor func(ctx context.Context, p int) (uint64, bool, error)
}

type clPart struct {
	mu    sync.Mutex
	last  uint64 // the sequence the next write expects under the partition's filter
	epoch uint64
	err   error // set once a write failed: the partition is lost to this worker
}

// NewChangelog serves the changelogs of partitions 0..partitions-1 for st. maxPayload
// is the server's max payload (nats.Conn.MaxPayload).
func NewChangelog(js jetstream.JetStream, t Topology, st *store.Store, partitions int, maxPayload int64) *Changelog {
	// Without a token (the store could not give one) writes go unsigned, and a store
	// that lost its record of a write takes its chunks for another writer's: slower
	// (the partition is read again from the beginning), as correct.
	var token string
	if st != nil { // nil: provisioning only
		token, _ = st.Token()
	}
	return &Changelog{js: js, topo: t, st: st, parts: make([]clPart, partitions),
		maxPart: int(max(maxPayload-4096, 1024)), token: token}
}

// Provision creates the changelog stream if it is missing, with replicas replicas (as
// the other streams: one that exists keeps its count). It keeps every message: the
// changelog is the partitions' state, and a restore reads it from the first chunk. Its
// only limit is streams.changelog.max_bytes, applied at creation and at every start,
// with discard new: a full changelog refuses the next chunk (the partition stops) rather
// than drop state.
func (c *Changelog) Provision(ctx context.Context, replicas int) error {
	name := c.topo.ChangelogStream()
	maxBytes := int64(c.topo.Streams.Changelog.MaxBytes)
	s, err := c.js.Stream(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		_, err = c.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        name,
			Description: "cartwright: what each partition's committed chunks changed, for a worker that takes the partition",
			Subjects:    []string{c.topo.Prefix + ".cl.>"},
			Storage:     jetstream.FileStorage,
			Replicas:    max(replicas, 1),
			Retention:   jetstream.LimitsPolicy,
			MaxBytes:    cmp.Or(maxBytes, -1),
			Discard:     jetstream.DiscardNew,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // another worker created it meanwhile
		}
	case err == nil && maxBytes != 0 && s.CachedInfo().Config.MaxBytes != maxBytes:
		cfg := s.CachedInfo().Config
		cfg.MaxBytes, cfg.Discard = maxBytes, jetstream.DiscardNew
		_, err = c.js.UpdateStream(ctx, cfg)
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == errMaxBytesRequired {
		return fmt.Errorf("bus: changelog stream %s: the account's JetStream limits require a max_bytes on every "+
			"stream; set streams.changelog.max_bytes (about 3.4 KB per envelope ever handled), or changelog: false: %w", name, err)
	}
	if err != nil {
		return fmt.Errorf("bus: changelog stream %s: %w", name, err)
	}
	return nil
}

// RestoreStats say what a restore did.
type RestoreStats struct {
	From, Head uint64 // the store's position before, and the changelog's head
	Messages   int    // changelog messages read
	Entries    int    // entries applied
	// Resent counts this store's pending chunks (store.HoldChanges) written to the
	// changelog, which still ended where this store left it; Dropped those undone
	// because another writer had written since (the partition is then read again from
	// the beginning).
	Resent, Dropped int
	// Confirmed counts this store's pending chunks found in the changelog after its
	// position, written by this store before a crash lost its record of the writes.
	Confirmed int
	// Outbox counts the messages of chunks whose envelopes were not all acknowledged,
	// put in this store's outbox for the taker to publish; Released the messages of this
	// store's chunks written and not published that it may publish now (nobody wrote
	// since), Discarded those it drops (someone did, and published them).
	Outbox, Released, Discarded int
	Took                        time.Duration
}

// Restore brings the store up to the head of partition p's changelog: from the store's
// own position when it held the partition before (only what is newer is read), from
// the beginning otherwise. It first settles the store's pending chunks of p (see
// settle). The next Write of p expects the head.
// REQUIRES: no loop serves p in this worker.
func (c *Changelog) Restore(ctx context.Context, p int) (RestoreStats, error) {
	cp := &c.parts[p]
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return c.restore(ctx, p, cp)
}

// REQUIRES: cp.mu held.
func (c *Changelog) restore(ctx context.Context, p int, cp *clPart) (RestoreStats, error) {
	t0 := time.Now()
	pos, err := c.st.ChangelogPosition(p)
	if err != nil {
		return RestoreStats{}, err
	}
	head, err := c.head(ctx, p)
	if err != nil {
		return RestoreStats{}, err
	}
	rs := RestoreStats{From: pos, Head: head}
	// Read before the settling and the replay: the messages of a chunk that is
	// acknowledged after it are kept too, and only repeat what was published (the same
	// message ids, within the duplicate window), never lost.
	floor, known := uint64(0), false
	if c.AckFloor != nil {
		if floor, known, err = c.AckFloor(ctx, p); err != nil {
			return rs, fmt.Errorf("bus: ack floor of partition %d: %w", p, err)
		}
	}
	same := head == pos
	if pos, head, err = c.settle(ctx, p, cp, pos, head, &rs); err != nil {
		return rs, err
	}
	// Chunks after the position that this store wrote itself (its record of the writes
	// lost in a crash) are no other writer's: nobody else wrote since.
	same = same || rs.Confirmed > 0
	// This store's chunks written to the changelog and not published: its own to
	// publish if nobody wrote since, the writer's (who published them from the
	// changelog) otherwise.
	k, err := c.st.SettleOutbox(p, same)
	if err != nil {
		return rs, err
	}
	if same {
		rs.Released = k
	} else {
		rs.Discarded = k
	}
	if head > pos {
		if err := c.replay(ctx, p, pos, head, floor, known, &rs); err != nil {
			return rs, err
		}
	}
	cp.last, cp.err = head, nil
	rs.Took = time.Since(t0)
	return rs, nil
}

// settle deals with the chunks of p this store committed and the changelog may not
// have (store.HoldChanges: a crash, or a refused write, between a chunk's commit and its
// changelog write). If the changelog's head is where this store left it, nobody wrote
// since: they are written now, in order, under the fence, and their held messages may
// go. Otherwise another writer has served p since, from a changelog without them: this
// store's copy of p has diverged, so every key they wrote and their messages are
// dropped, and p is read again from the beginning. It returns the position and head the
// restore goes on from.
// REQUIRES: cp.mu held.
func (c *Changelog) settle(ctx context.Context, p int, cp *clPart, pos, head uint64, rs *RestoreStats) (uint64, uint64, error) {
	pend, err := c.st.PendingChunks(p)
	if err != nil || len(pend) == 0 {
		return pos, head, err
	}
	if head != pos {
		// Written since by this very store (its record of the writes lost in a crash)?
		// Those chunks are in the changelog as the store has them: confirm them, and
		// settle what is left as if the head had not moved.
		written, own, err := c.ownSince(ctx, p, pos, head)
		if err != nil {
			return pos, head, err
		}
		if own {
			if err := c.st.ChangelogWritten(p, head, written...); err != nil {
				return pos, head, err
			}
			rest := pend[:0]
			for _, pc := range pend {
				if !slices.Contains(written, pc.ID) {
					rest = append(rest, pc)
				}
			}
			rs.Confirmed, pend, pos = len(pend)-len(rest), rest, head
			if len(pend) == 0 {
				return pos, head, nil
			}
		}
	}
	if head != pos {
		if err := c.st.DropPending(p, pend); err != nil {
			return pos, head, err
		}
		rs.Dropped, rs.From = len(pend), 0
		return 0, head, nil
	}
	// One chunk of what the pending ones left: their keys as the store holds them now.
	changes, err := c.st.CurrentChanges(pend)
	if err != nil {
		return pos, head, err
	}
	ids := make([]uint64, len(pend))
	for i, pc := range pend {
		ids[i] = pc.ID
	}
	cp.last = head
	if err := c.write(ctx, p, cp, changes, 0, ids...); err != nil {
		return pos, head, err
	}
	rs.Resent = len(pend)
	return cp.last, cp.last, nil
}

// sign marks m as this store's, with the pending records it writes.
func (c *Changelog) sign(m *nats.Msg, ids []uint64) {
	if c.token == "" {
		return
	}
	m.Header.Set(hdrWriter, c.token)
	var b []byte
	for _, id := range ids {
		if id == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, id, 10)
	}
	if len(b) > 0 {
		m.Header.Set(hdrPending, string(b))
	}
}

// ownSince reads the headers of p's changelog after pos up to head: own is whether this
// store wrote every message there, and written the pending records they name.
func (c *Changelog) ownSince(ctx context.Context, p int, pos, head uint64) (written []uint64, own bool, err error) {
	if c.token == "" {
		return nil, false, nil
	}
	own = true
	err = c.read(ctx, p, pos, head, true, func(m jetstream.Msg, _ uint64) bool {
		if m.Headers().Get(hdrWriter) != c.token {
			own = false
			return false
		}
		for _, f := range strings.Split(m.Headers().Get(hdrPending), ",") {
			if id, err := strconv.ParseUint(f, 10, 64); err == nil {
				written = append(written, id)
			}
		}
		return true
	})
	if err != nil || !own {
		return nil, false, err
	}
	return written, true, nil
}

// read calls fn with each message of p's changelog after pos, in order, up to head or
// until fn returns false; headersOnly leaves the bodies out. A message that should be
// there and does not come (removed by hand, say) must not hold the partition's start for
// ever: each may take 30 s.
func (c *Changelog) read(ctx context.Context, p int, pos, head uint64, headersOnly bool, fn func(m jetstream.Msg, seq uint64) bool) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{c.topo.ChangelogFilter(p)}, HeadersOnly: headersOnly}
	if pos > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, pos+1
	}
	cons, err := c.js.OrderedConsumer(ctx, c.topo.ChangelogStream(), cfg)
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return err
	}
	defer it.Stop()
	for n := 0; ; n++ {
		nctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		m, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if err != nil {
			return fmt.Errorf("bus: reading partition %d's changelog after %d, message %d, head %d: %w", p, pos, n, head, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		seq := meta.Sequence.Stream
		if !fn(m, seq) || seq >= head {
			return nil
		}
	}
}

// head is the last sequence under p's filter, 0 when it has none.
func (c *Changelog) head(ctx context.Context, p int) (uint64, error) {
	s, err := c.js.Stream(ctx, c.topo.ChangelogStream())
	if err != nil {
		return 0, fmt.Errorf("bus: changelog stream: %w", err)
	}
	m, err := s.GetLastMsgForSubject(ctx, c.topo.ChangelogFilter(p))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("bus: changelog head of partition %d: %w", p, err)
	}
	return m.Sequence, nil
}

func (c *Changelog) replay(ctx context.Context, p int, pos, head, floor uint64, known bool, rs *RestoreStats) error {
	a := c.st.NewChangelogApplier(p)
	var group [][]byte // the parts read so far of a chunk sent in several
	marker := c.topo.changelogSubject(p, "_epoch")
	var aerr error
	err := c.read(ctx, p, pos, head, false, func(m jetstream.Msg, seq uint64) bool {
		rs.Messages++
		switch i, n := partOf(m.Headers()); {
		case m.Subject() == marker:
			group = group[:0] // a chunk its writer never finished: it never counted
			aerr = a.Apply(seq, nil)
		case n <= 1:
			group = group[:0]
			aerr = a.ApplyChunk(seq, m.Data(), keepOutbox(m.Headers(), floor, known))
		case i == 1 || i == len(group)+1:
			if i == 1 {
				group = group[:0]
			}
			if group = append(group, m.Data()); i == n {
				aerr = a.ApplyChunk(seq, bytes.Join(group, nil), keepOutbox(m.Headers(), floor, known))
				group = group[:0]
			}
		default:
			group = group[:0] // parts out of order: the chunk was never finished
		}
		return aerr == nil
	})
	if err = cmp.Or(err, aerr); err != nil {
		a.Close()
		return err
	}
	rs.Entries, rs.Outbox = a.Entries, a.Outbox
	return a.Close()
}

// keepOutbox reports whether a chunk's outbox messages may not have been published: an
// envelope of it is above the ack floor.
func keepOutbox(h nats.Header, floor uint64, known bool) bool {
	if !known {
		return false
	}
	top, err := strconv.ParseUint(h.Get(hdrTop), 10, 64)
	return err == nil && top > floor
}

// partOf reads "i/n" of a chunk's part; n is 0 for a chunk in one message.
func partOf(h nats.Header) (i, n int) {
	v := h.Get(hdrPart)
	if v == "" {
		return 0, 0
	}
	a, b, _ := strings.Cut(v, "/")
	i, _ = strconv.Atoi(a)
	n, _ = strconv.Atoi(b)
	return i, n
}

// Take makes this worker p's changelog writer under epoch (the lease's, see bus/group):
// it restores p, then writes the epoch marker, after which a previous writer's next
// write fails. It returns ErrFenced when another writer wrote between the restore and
// the marker: the partition is not this worker's.
// REQUIRES: no loop serves p in this worker.
func (c *Changelog) Take(ctx context.Context, p int, epoch uint64) (RestoreStats, error) {
	cp := &c.parts[p]
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.epoch = epoch
	rs, err := c.restore(ctx, p, cp)
	if err != nil {
		cp.err = err
		return rs, err
	}
	m := nats.NewMsg(c.topo.changelogSubject(p, "_epoch"))
	m.Header.Set(hdrEpoch, strconv.FormatUint(epoch, 10))
	c.sign(m, nil)
	seq, err := c.publish(ctx, p, cp, m)
	if err != nil {
		cp.err = err
		return rs, err
	}
	cp.last = seq
	if err := c.st.ChangelogWritten(p, seq); err != nil {
		return rs, err
	}
	if err := c.st.PartitionTaken(p, epoch); err != nil {
		return rs, err
	}
	return rs, nil
}

// Write puts one committed chunk's changes (store.Batch.Changes) in p's changelog; see
// WriteHeld.
func (c *Changelog) Write(ctx context.Context, p int, changes []byte) error {
	return c.WriteHeld(ctx, p, 0, changes)
}

// WriteHeld puts one committed chunk's changes (store.Batch.HoldChanges) in p's
// changelog, then removes the chunk's pending record id (0: none). Its error is ErrFenced
// when another worker took the partition, or what NATS kept failing with after a few
// tries; either way the partition is lost to this worker: the chunk must go no further,
// and every later Write of p fails the same until p is taken again. The pending record
// stays: the next Take of p in this store settles it (see settle).
// REQUIRES: the chunk is committed in the store; p's chunks are written in the order
// they were committed.
func (c *Changelog) WriteHeld(ctx context.Context, p int, id uint64, changes []byte) error {
	return c.WriteChunk(ctx, p, id, changes, 0)
}

// WriteChunk is WriteHeld for a chunk that acknowledges envelopes up to stream sequence
// top (0: none), which its changelog message carries: a restore keeps the chunk's
// outbox messages while an envelope of it is above the ack floor.
func (c *Changelog) WriteChunk(ctx context.Context, p int, id uint64, changes []byte, top uint64) error {
	cp := &c.parts[p]
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if cp.err != nil {
		return cp.err
	}
	if len(changes) == 0 {
		return nil
	}
	return c.write(ctx, p, cp, changes, top, id)
}

// write publishes changes, in parts if they are over the max payload, and records it,
// with the pending chunks ids it covers.
// REQUIRES: cp.mu held.
func (c *Changelog) write(ctx context.Context, p int, cp *clPart, changes []byte, top uint64, ids ...uint64) error {
	if err := c.send(ctx, p, cp, changes, top, ids); err != nil {
		return err
	}
	return c.st.ChangelogWritten(p, cp.last, ids...)
}

// send publishes changes, in parts if they are over the max payload, signed with the
// pending records ids they write, the last part with top (see hdrTop).
// REQUIRES: cp.mu held.
func (c *Changelog) send(ctx context.Context, p int, cp *clPart, changes []byte, top uint64, ids []uint64) error {
	n := (len(changes) + c.maxPart - 1) / c.maxPart
	for i := range n {
		m := nats.NewMsg(c.topo.changelogSubject(p, "chunk"))
		m.Header.Set(hdrEpoch, strconv.FormatUint(cp.epoch, 10))
		c.sign(m, ids)
		if top > 0 && i == n-1 {
			m.Header.Set(hdrTop, strconv.FormatUint(top, 10))
		}
		if n > 1 {
			m.Header.Set(hdrPart, strconv.Itoa(i+1)+"/"+strconv.Itoa(n))
		}
		m.Data = changes[i*c.maxPart : min((i+1)*c.maxPart, len(changes))]
		seq, err := c.publish(ctx, p, cp, m)
		if err != nil {
			cp.err = err
			return err
		}
		cp.last = seq
	}
	return nil
}

// Err is the error that cost this worker partition p, or nil (also on a nil Changelog).
func (c *Changelog) Err(p int) error {
	if c == nil {
		return nil
	}
	cp := &c.parts[p]
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.err
}

// publish writes m on the condition that the partition's last sequence is cp.last,
// trying again on errors that may be passing. The message id makes a retry of a write
// that got through but whose ack was lost a duplicate the server answers with the
// first write's sequence, not a second entry.
// REQUIRES: cp.mu held.
func (c *Changelog) publish(ctx context.Context, p int, cp *clPart, m *nats.Msg) (uint64, error) {
	id := "cl." + strconv.Itoa(p) + "." + strconv.FormatUint(cp.epoch, 10) + "." + strconv.FormatUint(cp.last, 10)
	var err error
	for try := range 6 {
		if try > 0 {
			sleep(ctx, time.Duration(50<<try)*time.Millisecond)
		}
		var ack *jetstream.PubAck
		ack, err = c.js.PublishMsg(ctx, m, jetstream.WithMsgID(id),
			jetstream.WithExpectLastSequenceForSubject(cp.last, c.topo.ChangelogFilter(p)))
		if err == nil {
			return ack.Sequence, nil
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return 0, fmt.Errorf("%w (partition %d, expected last sequence %d)", ErrFenced, p, cp.last)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return 0, fmt.Errorf("bus: changelog of partition %d: %w", p, err)
}

// startChangelog provisions the changelog. It takes no partition: each is taken (restored
// and fenced under its lease's epoch) by the loop that serves it, once the group gives it
// to this worker (Worker.restore), so that a worker never fences a partition it does not own.
func (w *Worker) startChangelog(ctx context.Context) error {
	w.cl = NewChangelog(w.js, w.topo, w.st, w.topo.Partitions, w.nc.MaxPayload())
	w.cl.AckFloor = func(ctx context.Context, p int) (uint64, bool, error) {
		cons, err := w.js.Consumer(ctx, w.topo.InStream(), w.topo.ConsumerName(p))
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		return cons.CachedInfo().AckFloor.Stream, true, nil
	}
	return w.cl.Provision(ctx, w.topo.Replicas)
}

// restore takes partition p's changelog under epoch before its loop opens the consumer:
// the restore may move the partition's watermark, and the store holds this worker's own
// state of p until then, stale when another worker served p since. It tries again until
// it succeeds, the lease turns invalid or ctx ends, and reports whether the loop may go on.
// INVARIANT: a partition's loop never fetches without a successful Take under its lease.
// REQUIRES: no other loop serves p in this worker.
func (w *Worker) restore(ctx context.Context, p int, epoch uint64, valid func() bool) bool {
	wait := time.Second
	for ctx.Err() == nil && valid() {
		t0 := time.Now()
		rs, err := w.cl.Take(ctx, p, epoch)
		if err == nil {
			w.metrics.Restore.Observe(time.Since(t0).Seconds()) // the marker included
			w.taken[p].Store(epoch)
			if rs.Outbox > 0 || rs.Released > 0 {
				// Published before the loop fetches: it acknowledges the redeliveries of
				// their envelopes, after which no other taker would publish them.
				if n, err := w.pub.flushOutbox(ctx); err != nil {
					w.log.Warn("publishing the partition's messages at its take; the pump tries again",
						"partition", p, "published", n, "err", err)
				}
			}
			if rs.Resent > 0 {
				// Their held messages may go now: the pump publishes them.
				w.pub.mu.Lock()
				w.pub.dirty = true
				w.pub.mu.Unlock()
			}
			if rs.Resent > 0 {
				w.log.Warn("wrote to the changelog the chunks committed and not written before",
					"partition", p, "epoch", epoch, "chunks", rs.Resent)
			}
			if rs.Outbox > 0 {
				w.log.Warn("publishing the messages of chunks its previous owner may not have published",
					"partition", p, "epoch", epoch, "messages", rs.Outbox)
			}
			if rs.Released > 0 || rs.Discarded > 0 {
				w.log.Warn("settled the messages this store had not published of the partition",
					"partition", p, "epoch", epoch, "published_now", rs.Released, "dropped", rs.Discarded)
			}
			if rs.Dropped > 0 {
				w.log.Warn("dropped the chunks committed and never written to the changelog, which another worker wrote to since; restored the partition from the beginning",
					"partition", p, "epoch", epoch, "chunks", rs.Dropped)
			}
			if rs.Messages > 0 {
				w.log.Info("caught up from the changelog", "partition", p, "epoch", epoch, "from", rs.From,
					"head", rs.Head, "messages", rs.Messages, "entries", rs.Entries, "took", rs.Took.Round(time.Millisecond))
			}
			return true
		}
		if ctx.Err() != nil {
			break
		}
		// Nothing is fetched meanwhile: serving p from a store that missed its latest
		// chunks would answer from stale state.
		w.log.Error("taking the partition's changelog failed: not serving it until a restore succeeds; retrying",
			"partition", p, "epoch", epoch, "err", err, "retry_in", wait)
		sleep(ctx, wait)
		wait = min(2*wait, 30*time.Second)
	}
	return false
}

// writeChangelog writes j's changes to the changelog, first of everything j does. It
// reports false when the partition is lost to this worker: j must then be neither
// published nor acknowledged (whoever owns the partition now handles its envelopes), and
// its messages must not leave before the changelog has its changes (unhold).
func (p *partition) writeChangelog(ctx context.Context, j sendJob) bool {
	cl := p.w.cl
	if cl == nil {
		return true
	}
	err := cl.Err(p.n)
	if err == nil {
		if err = cl.WriteChunk(ctx, p.n, j.pending, j.changes, j.top); err == nil {
			return true
		}
		p.w.log.Error("changelog write failed: the partition stops here; its chunk is neither published nor acknowledged",
			"partition", p.n, "err", err)
	}
	p.unhold(j)
	return false
}

// unhold gives back the messages of a chunk that goes no further. A chunk with a pending
// record keeps them in the outbox, held by the record: the next take of the partition in
// this store publishes them if it writes the chunk to the changelog, or drops them (see
// Changelog.settle); the envelopes' redeliveries, acknowledged from the chunk's records
// without a reply, leave them the only reply. A chunk without one (it changed nothing
// that moves: replays, redeliveries) drops them: a replay may answer from a record of a
// chunk still pending, and the envelopes come again to whoever owns the partition.
func (p *partition) unhold(j sendJob) {
	if j.pending == 0 {
		if err := p.w.st.Published(j.outgoing, p.n, j.rec); err != nil {
			p.w.log.Warn("outbox: dropping a fenced chunk's messages", "err", err)
		}
	}
	p.w.pub.release(j.outgoing, false)
}
