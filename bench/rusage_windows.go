package bench

import (
	"syscall"
	"time"
)

// rusageSelf is the process's CPU time, user and kernel (GetProcessTimes); Windows keeps
// no peak resident set that syscall reads, so it is 0.
func rusageSelf() (maxRSS int64, cpu time.Duration, ok bool) {
	h, err := syscall.GetCurrentProcess()
	if err != nil {
		return 0, 0, false
	}
	var created, exited, kernel, user syscall.Filetime
	if syscall.GetProcessTimes(h, &created, &exited, &kernel, &user) != nil {
		return 0, 0, false
	}
	ticks := func(f syscall.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return 0, time.Duration((ticks(kernel) + ticks(user)) * 100), true // 100 ns ticks
}
