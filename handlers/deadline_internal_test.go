package handlers

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

// TestLazyDeadlineActsAsWithDeadline: unarmed, the context answers Err from the clock and
// its parent, with no timer; Done arms it, and it is then done at the deadline or with
// its parent; cancel ends it either way; values and a parent's earlier deadline come
// through.
func TestLazyDeadlineActsAsWithDeadline(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey{}, "v")

	// Past its deadline without anything waiting: Err says so, no timer was made.
	c, cancel := withLazyDeadline(parent, time.Now().Add(20*time.Millisecond))
	if c.Err() != nil || c.Value(ctxKey{}) != "v" {
		t.Fatalf("fresh: Err %v, value %v", c.Err(), c.Value(ctxKey{}))
	}
	time.Sleep(30 * time.Millisecond)
	if !errors.Is(c.Err(), context.DeadlineExceeded) || c.state.Load() != lazyWaiting {
		t.Fatalf("past the deadline unarmed: Err %v, state %d", c.Err(), c.state.Load())
	}
	cancel()
	select {
	case <-c.Done():
	default:
		t.Fatal("Done of a canceled context is open")
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("canceled after its deadline: %v", c.Err())
	}

	// Waited on: armed, done at the deadline.
	c, cancel = withLazyDeadline(parent, time.Now().Add(20*time.Millisecond))
	start := time.Now()
	select {
	case <-c.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("Done did not close at the deadline")
	}
	if took := time.Since(start); took < 15*time.Millisecond || !errors.Is(c.Err(), context.DeadlineExceeded) ||
		!errors.Is(context.Cause(c), context.DeadlineExceeded) || c.state.Load() != lazyArmed {
		t.Fatalf("armed: done after %v, Err %v, Cause %v, state %d", took, c.Err(), context.Cause(c), c.state.Load())
	}
	cancel()

	// Canceled before its deadline, unarmed: canceled, and Done is closed.
	c, cancel = withLazyDeadline(parent, time.Now().Add(time.Hour))
	cancel()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("canceled unarmed: %v", c.Err())
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done of a context canceled unarmed is open")
	}

	// The parent canceled: unarmed, Err says so; a context derived from it (which arms
	// it) is done with it.
	pctx, pcancel := context.WithCancel(parent)
	c, cancel = withLazyDeadline(pctx, time.Now().Add(time.Hour))
	defer cancel()
	child, childCancel := context.WithCancel(c)
	defer childCancel()
	pcancel()
	select {
	case <-child.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("a context derived from it is not done with the parent")
	}
	if !errors.Is(c.Err(), context.Canceled) || child.Value(ctxKey{}) != "v" {
		t.Fatalf("parent canceled: Err %v, value %v", c.Err(), child.Value(ctxKey{}))
	}
	c2, cancel2 := withLazyDeadline(pctx, time.Now().Add(time.Hour))
	defer cancel2()
	if !errors.Is(c2.Err(), context.Canceled) {
		t.Fatalf("unarmed under a canceled parent: %v", c2.Err())
	}

	// A parent's earlier deadline is the deadline.
	early := time.Now().Add(time.Minute)
	dctx, dcancel := context.WithDeadline(parent, early)
	defer dcancel()
	c, cancel = withLazyDeadline(dctx, time.Now().Add(time.Hour))
	defer cancel()
	if d, ok := c.Deadline(); !ok || !d.Equal(early) {
		t.Fatalf("deadline %v %v, want the parent's %v", d, ok, early)
	}
}
