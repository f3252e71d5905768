//go:build linux && cgo

package app

/*
#include <stdlib.h>
#include <malloc.h>

// Only glibc has arenas to cap and trim: musl has neither mallopt(M_ARENA_MAX) nor
// malloc_trim, and its malloc keeps no per-thread arenas, so there the tuning is nothing.
#ifdef __GLIBC__
static void cw_cap_arenas(void) { mallopt(M_ARENA_MAX, 2); }
static void cw_trim(void) { malloc_trim(0); }
static int cw_glibc(void) { return 1; }
#else
static void cw_cap_arenas(void) {}
static void cw_trim(void) {}
static int cw_glibc(void) { return 0; }
#endif
*/
import "C"

// Pebble keeps its block cache and memtables in C memory (malloc) when built with cgo.
// glibc gives threads their own arenas, up to eight per core, and an arena keeps what was
// freed in it: with Go moving goroutines between threads, Pebble's memory ends up spread
// over several arenas, each holding freed blocks, and the process's resident memory grows
// far past the cache's size (measured: 188 MiB of C memory for a 64 MiB cache). So the
// arenas are capped, and what is free in them is handed back to the system now and then.
//
// This is the process's policy, not the store's: it is set by the process when it starts
// (TuneMalloc), never by importing a package.
func capArenas() bool {
	C.cw_cap_arenas()
	return C.cw_glibc() == 1
}

// trimC returns the free memory of every malloc arena to the system.
func trimC() { C.cw_trim() }
