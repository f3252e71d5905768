//go:build !(linux && cgo)

package app

// Pebble's memory is in the Go heap (no cgo), or the C library is not one TuneMalloc
// knows: there is nothing to cap or trim.
func capArenas() bool { return false }

func trimC() {}
