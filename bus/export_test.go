package bus

import "context"

// SetSenderFault makes every partition's sender ask f about each committed chunk with
// changelog entries before its changelog write; true drops the chunk there, as a crash
// would. nil removes it.
func SetSenderFault(f func(p int) bool) {
	if f == nil {
		senderFault.Store(nil)
		return
	}
	senderFault.Store(&f)
}

// WriteHeldLosingRecord writes a held chunk to p's changelog as WriteHeld does, and
// leaves out the store's record of the write, as a crash before that record (it is not
// synced) reached the disk would.
func (c *Changelog) WriteHeldLosingRecord(ctx context.Context, p int, id uint64, changes []byte) error {
	cp := &c.parts[p]
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return c.send(ctx, p, cp, changes, 0, []uint64{id})
}

// SetPublishFault makes every partition's sender ask f about each committed chunk with
// changelog entries once its changelog write succeeded and before its publish, with the
// number of envelopes it acknowledges; true drops the chunk there, unpublished,
// unacknowledged and still claimed, as a crash at that point would. nil removes it.
func SetPublishFault(f func(p, envelopes int) bool) {
	if f == nil {
		publishFault.Store(nil)
		return
	}
	publishFault.Store(&f)
}
