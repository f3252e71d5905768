// Command cartwright is the merchant-side worker for agentic commerce on NATS JetStream,
// and the client that agents and operators use to talk to it.
//
//	cartwright serve                      run the worker (embedded NATS + the demo tenant)
//	cartwright send --tenant T --context C FILE
//	cartwright version
//
// Exit codes of client commands: 0 a success reply, 1 an error reply, 2 a usage error,
// 3 no reply in time.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Exit codes of CONTRACT.md section 9.
const (
	exitOK       = 0
	exitErrReply = 1
	exitUsage    = 2
	exitNoReply  = 3
	exitFailure  = 1
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// The main goroutine keeps the process's main thread to itself, so that no other runs
// there. The store runs each compaction on a thread of its own at a lower priority
// (store.compaction_nice), which ends with it; the runtime cannot end the main thread, so
// a compaction that started there would run at the process's priority.
func init() { runtime.LockOSThread() }

func main() {
	root := newRoot()
	err := root.Execute()
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "cartwright:", ee.err)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "cartwright:", err)
	// cobra's own errors are about flags and arguments: usage errors.
	os.Exit(exitUsage)
}
