package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFile is the file in the data directory whose lock marks it as in use; it holds the
// pid of the process that holds the lock.
const LockFile = "LOCK"

// ErrDataDirInUse is returned by LockDataDir when another process holds the directory.
type ErrDataDirInUse struct {
	Dir string
	// Pid is the holder's, as it wrote it; 0 when it has not written it yet.
	Pid int
}

func (e *ErrDataDirInUse) Error() string {
	pid := "pid unknown"
	if e.Pid > 0 {
		pid = "pid " + strconv.Itoa(e.Pid)
	}
	return fmt.Sprintf("the data directory %s is in use by another cartwright (%s)", e.Dir, pid)
}

// LockDataDir takes dir for this process, or returns *ErrDataDirInUse at once. It must
// come before anything in dir is opened: the Pebble store has a lock of its own, but an
// embedded NATS server started first would already be running on the live worker's
// JetStream store by the time the store refused. The lock is the operating system's: it
// ends with the process, so a killed worker leaves nothing to clean up. release ends it.
func LockDataDir(dir string) (release func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	held, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory %s: lock: %w", dir, err)
	}
	if held {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
		f.Close()
		return nil, &ErrDataDirInUse{Dir: dir, Pid: pid}
	}
	// The pid is for the message of the next one to try, and for the operator.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}
