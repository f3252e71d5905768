package group

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotOwner is what a Fence reports once its lease is no longer valid here: the
// partition may already belong to another worker, so nothing more may be published or
// acknowledged for it under this lease.
var ErrNotOwner = errors.New("group: partition lease not held")

// Lease is a partition held by this member.
type Lease struct {
	Partition int
	// Epoch is the bucket revision at which the lease was acquired. Revisions only grow,
	// so every change of owner (and every re-acquisition by the same worker) gives a
	// larger epoch: a new owner writes it where stale writes must be refused.
	Epoch uint64
}

// slot is what Valid reads without locks: the epoch held and until when, on the
// member's monotonic clock.
type slot struct {
	epoch    uint64
	deadline time.Duration // since Member.base
}

// Valid reports whether this member still holds partition p under epoch, by its own
// clock and without asking the server. It is cheap enough to call before every publish
// and every ack.
//
// INVARIANT: a lease is valid until the send time of its last successful renewal (or of
// its acquisition) + LeaseTTL - SafetyMargin. The server keeps the key at least LeaseTTL
// after it stored that write, which is after it was sent, so no other member can have
// acquired the partition while Valid is true, unless this host's clock ran slower than
// the server's by more than the margin. Once false for an epoch, Valid never turns true
// again for it.
func (m *Member) Valid(p int, epoch uint64) bool {
	if p < 0 || p >= len(m.slots) {
		return false
	}
	s := m.slots[p].Load()
	return s != nil && s.epoch == epoch && m.now() < s.deadline
}

// Owned lists the leases valid at the time of the call, by partition.
func (m *Member) Owned() []Lease {
	var out []Lease
	for p := range m.slots {
		if s := m.slots[p].Load(); s != nil && m.now() < s.deadline {
			out = append(out, Lease{Partition: p, Epoch: s.epoch})
		}
	}
	return out
}

// Fence is the check a partition loop makes before each chunk's publish and ack.
type Fence struct {
	m *Member
	l Lease
}

// Fence returns the fence of lease l.
func (m *Member) Fence(l Lease) Fence { return Fence{m: m, l: l} }

// Check returns nil while the lease is valid, and an error wrapping ErrNotOwner after.
func (f Fence) Check() error {
	if f.m.Valid(f.l.Partition, f.l.Epoch) {
		return nil
	}
	return fmt.Errorf("%w: partition %d epoch %d", ErrNotOwner, f.l.Partition, f.l.Epoch)
}

func (m *Member) now() time.Duration { return time.Since(m.base) }
