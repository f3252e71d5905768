//go:build !linux

package store

import "errors"

// lowerPriority is Linux only: elsewhere a nice value is the whole process's.
func lowerPriority(int) error { return errors.ErrUnsupported }
