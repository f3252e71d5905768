package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

// readNice reads a thread's nice value from its stat file (proc(5): the 19th field).
func readNice(stat string) (int, error) {
	b, err := os.ReadFile(stat)
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // from the 3rd field on
	if len(fields) < 19-3+1 {
		return 0, fmt.Errorf("%s: %d fields", stat, len(fields))
	}
	return strconv.Atoi(fields[19-3])
}

func threadNice(t *testing.T, stat string) int {
	t.Helper()
	n, err := readNice(stat)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// loweredThreads lists the process's threads whose nice value is nice.
func loweredThreads(t *testing.T, nice int) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var at []string
	for _, st := range stats {
		n, err := readNice(st)
		if err != nil {
			continue // the thread ended meanwhile
		}
		if n == nice {
			at = append(at, st)
		}
	}
	return at
}

// fillAndCompact writes enough states for several flushed files and compacts them.
func fillAndCompact(t *testing.T, s *store.Store) {
	t.Helper()
	testenv.FillStates(t, s, 0, 20000)
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
}

// With CompactionNice, each compaction runs on a thread at that nice value, the rest of
// the process stays where it was, and no thread is left at it once the compactions are
// over: their threads end with them, and no other goroutine ever ran on them.
func TestCompactionsRunAtTheirNice(t *testing.T) {
	const nice = 7
	own := threadNice(t, "/proc/thread-self/stat")
	if own == nice {
		t.Fatalf("the test runs at nice %d already: it would prove nothing", nice)
	}
	seen := make(chan int, 100)
	store.SetCompactionLowered(func() {
		n, err := readNice("/proc/thread-self/stat")
		if err != nil {
			n = -100
		}
		select {
		case seen <- n:
		default:
		}
	})
	defer store.SetCompactionLowered(nil)

	// A compaction that starts on the process's main thread runs at the process's
	// priority (lowerPriority): cmd/cartwright keeps that thread for its main goroutine,
	// a test binary does not, so the test compacts until one ran lowered.
	for i := 0; i < 20 && len(seen) == 0; i++ {
		s, err := store.Open(t.TempDir(), store.Options{MemTableBytes: 1 << 20, CompactionNice: nice})
		if err != nil {
			t.Fatal(err)
		}
		fillAndCompact(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	close(seen)
	n := 0
	for v := range seen {
		n++
		if v != nice {
			t.Errorf("a compaction ran at nice %d, want %d", v, nice)
		}
	}
	if n == 0 {
		t.Fatal("no compaction ran at a lowered priority")
	}
	if got := threadNice(t, "/proc/thread-self/stat"); got != own {
		t.Errorf("the test's own thread is at nice %d now, was %d", got, own)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := loweredThreads(t, nice)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d threads still at nice %d after the store closed: %v", len(left), nice, left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Without it, compactions run at the process's priority: nothing is lowered.
func TestCompactionsAtTheProcesssPriorityByDefault(t *testing.T) {
	var lowered atomic.Int32
	store.SetCompactionLowered(func() { lowered.Add(1) })
	defer store.SetCompactionLowered(nil)
	s, err := store.Open(t.TempDir(), store.Options{MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fillAndCompact(t, s)
	if s.Metrics().Compact.Count == 0 {
		t.Fatal("no compaction ran: the test proves nothing")
	}
	if n := lowered.Load(); n != 0 {
		t.Errorf("%d compactions lowered their priority with CompactionNice 0", n)
	}
}
