package app_test

import (
	"errors"
	"os"
	"testing"

	"github.com/cartwright-dev/cartwright/app"
)

// TestLockDataDir: a held data directory is refused with the holder's pid, and is free
// again once released.
func TestLockDataDir(t *testing.T) {
	dir := t.TempDir()
	release, err := app.LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.LockDataDir(dir)
	var inUse *app.ErrDataDirInUse
	if !errors.As(err, &inUse) || inUse.Pid != os.Getpid() {
		t.Fatalf("second lock: %v", err)
	}
	release()
	release, err = app.LockDataDir(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	release()
}
