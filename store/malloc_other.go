//go:build !(linux && cgo)

package store

// trimC has nothing to do: Pebble's memory is in the Go heap (no cgo), or the C library
// is not glibc.
func trimC() {}
