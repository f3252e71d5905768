package store

// SetCompactionLowered sets the function called on a compaction's goroutine once its
// priority is lowered (nil: none). REQUIRES: no store is open.
func SetCompactionLowered(f func()) { compactionLowered = f }
