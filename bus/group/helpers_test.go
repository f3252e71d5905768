package group_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/bus/group"
	"github.com/cartwright-dev/cartwright/testenv"
)

// testTTL keeps the tests short; the server refuses delete markers under a second.
const testTTL = 1500 * time.Millisecond

func testConfig(id string, partitions int) group.Config {
	return group.Config{
		Bucket:     "T_GROUP",
		WorkerID:   id,
		Partitions: partitions,
		LeaseTTL:   testTTL,
		Logger:     slog.New(slog.DiscardHandler),
	}
}

// worker is a member plus what a worker would do with its events: it records them and
// confirms every Releasing at once, as a partition loop that stops quickly would.
type worker struct {
	*group.Member

	mu     sync.Mutex
	events []group.Event
}

func (w *worker) drain() {
	for e := range w.Events() {
		w.mu.Lock()
		w.events = append(w.events, e)
		w.mu.Unlock()
		if e.Kind == group.Releasing {
			e.Done()
		}
	}
}

func (w *worker) eventsOf(k group.EventKind) []group.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []group.Event
	for _, e := range w.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// join starts a member on its own connection, as a separate process would have.
func join(t testing.TB, url string, cfg group.Config) *worker {
	t.Helper()
	js := testenv.NewClient(t, url).JetStream()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := group.Join(ctx, js, cfg)
	if err != nil {
		t.Fatalf("join %s: %v", cfg.WorkerID, err)
	}
	return adopt(t, m)
}

func adopt(t testing.TB, m *group.Member) *worker {
	w := &worker{Member: m}
	go w.drain()
	t.Cleanup(m.Stop)
	return w
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// spread reports whether the workers own every partition exactly once, with counts that
// differ by at most one.
func spread(partitions int, ws ...*worker) error {
	owners := make([][]string, partitions)
	var counts []int
	for _, w := range ws {
		own := w.Owned()
		counts = append(counts, len(own))
		for _, l := range own {
			owners[l.Partition] = append(owners[l.Partition], w.WorkerID())
		}
	}
	for p, o := range owners {
		if len(o) != 1 {
			return fmt.Errorf("partition %d owned by %v", p, o)
		}
	}
	if len(counts) > 0 && slices.Max(counts)-slices.Min(counts) > 1 {
		return fmt.Errorf("uneven counts %v", counts)
	}
	return nil
}

func waitSpread(t testing.TB, within time.Duration, partitions int, ws ...*worker) time.Duration {
	t.Helper()
	var last error
	start := time.Now()
	for {
		if last = spread(partitions, ws...); last == nil {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("no even spread within %v: %v", within, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// safety samples every member's Owned over and over and records any partition valid in
// two members at the same instant.
//
// Reading members one after another is not one instant, so a sample proves an overlap
// only this way: in a round X1 Y1 … X2 Y2 …, if X holds (p, e) at X1 and at X2 it held
// it throughout (an epoch that turned invalid never turns valid again), and so at Y1;
// if Y holds p at Y1 too, both held p at once. The same for Y across Y1..Y2 and X2.
type safety struct {
	mu         sync.Mutex
	ws         []*worker
	violations []string
	rounds     int
	stop       chan struct{}
	done       chan struct{}
}

func watchSafety(t testing.TB, ws ...*worker) *safety {
	s := &safety{ws: ws, stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	t.Cleanup(func() { s.check(t) })
	return s
}

func (s *safety) add(w *worker) {
	s.mu.Lock()
	s.ws = append(s.ws, w)
	s.mu.Unlock()
}

func (s *safety) loop() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		s.mu.Lock()
		ws := slices.Clone(s.ws)
		s.mu.Unlock()
		first := make([]map[int]uint64, len(ws))
		second := make([]map[int]uint64, len(ws))
		for _, snap := range [][]map[int]uint64{first, second} {
			for i, w := range ws {
				snap[i] = map[int]uint64{}
				for _, l := range w.Owned() {
					snap[i][l.Partition] = l.Epoch
				}
			}
		}
		// Reads go i1 … j1 … i2 … j2 for i < j, and j1 … i1 … j2 … i2 for i > j: the
		// read of j inside [i1, i2] is the first pass's when i < j, the second's after.
		for i := range ws {
			for j := range ws {
				if i == j {
					continue
				}
				inside := first[j]
				if i > j {
					inside = second[j]
				}
				for p, e := range first[i] {
					if second[i][p] != e {
						continue
					}
					if _, ok := inside[p]; ok {
						s.violate(ws[i], ws[j], p)
					}
				}
			}
		}
		s.mu.Lock()
		s.rounds++
		s.mu.Unlock()
		time.Sleep(200 * time.Microsecond)
	}
}

func (s *safety) violate(a, b *worker, p int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.violations) < 10 {
		s.violations = append(s.violations, fmt.Sprintf("partition %d valid in %s and %s at once", p, a.WorkerID(), b.WorkerID()))
	}
}

// safetyMinRounds is how many rounds check wants sampled before it judges.
const safetyMinRounds = 10

func (s *safety) check(t testing.TB) {
	t.Helper()
	select {
	case <-s.stop:
		return
	default:
	}
	// A spread reached at once leaves the sampler little time: it samples on, up to a
	// deadline, until the rounds are enough to say something.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		enough := s.rounds >= safetyMinRounds
		s.mu.Unlock()
		if enough {
			break
		}
	}
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.violations {
		t.Error(v)
	}
	if s.rounds < safetyMinRounds {
		t.Errorf("safety sampled only %d rounds", s.rounds)
	}
	t.Logf("safety: %d rounds, no partition held twice: %v", s.rounds, len(s.violations) == 0)
}
