//go:build unix

package bench

import (
	"runtime"
	"syscall"
	"time"
)

// rusageSelf is getrusage(RUSAGE_SELF): the peak resident set in bytes and the CPU time
// used, user and system.
func rusageSelf() (maxRSS int64, cpu time.Duration, ok bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0, false
	}
	maxRSS = int64(ru.Maxrss)
	if runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		maxRSS <<= 10 // kilobytes but on Apple's systems, which give bytes
	}
	return maxRSS, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
