package store

import (
	"errors"
	"runtime"
	"syscall"
)

// lowerPriority sets the nice value of the calling goroutine's OS thread to nice, and
// keeps the goroutine on that thread for the rest of its life: the thread is never
// unlocked, so it ends with the goroutine (runtime.LockOSThread) and no other goroutine
// ever runs at that priority. On Linux the nice value is the thread's own
// (setpriority(2), PRIO_PROCESS with a thread id); raising it needs no privilege.
//
// Not on the process's main thread, which the runtime never ends (it would wedge it at
// that priority, and ps shows the main thread's as the process's): there the goroutine
// runs on at the process's priority. cmd/cartwright keeps the main thread for its main
// goroutine, so that no compaction ever runs on it.
func lowerPriority(nice int) error {
	runtime.LockOSThread()
	tid := syscall.Gettid()
	if tid == syscall.Getpid() {
		runtime.UnlockOSThread()
		return errOnMainThread
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice)
}

var errOnMainThread = errors.New("store: on the main thread")
