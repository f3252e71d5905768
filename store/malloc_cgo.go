//go:build linux && cgo

package store

/*
#include <malloc.h>
*/
import "C"

// Pebble keeps its block cache and memtables in C memory (malloc) when built with cgo.
// glibc gives threads their own arenas, up to eight per core, and an arena keeps what was
// freed in it: with Go moving goroutines between threads, Pebble's memory ends up spread
// over several arenas, each holding freed blocks, and the process's resident memory grows
// far past the cache's size (measured: 188 MiB of C memory for a 64 MiB cache). So the
// arenas are capped, and what is free in them is handed back to the system now and then.
func init() { C.mallopt(C.M_ARENA_MAX, 2) }

// trimC returns the free memory of every malloc arena to the system.
func trimC() { C.malloc_trim(0) }
