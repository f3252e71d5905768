//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package app

import "os"

// lockFile takes no lock where flock is missing: the Pebble store's own lock still refuses
// a second worker, after its embedded NATS server has started.
func lockFile(*os.File) (held bool, err error) { return false, nil }
