package bus

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
