package app

import (
	"sync"
	"time"
)

// TuneMalloc caps glibc's malloc arenas and hands the C memory Pebble has freed back to
// the system every 2 s, until stop is called (see malloc_cgo.go for why). It is for a
// process that runs a store (`serve`, `bench`), called once at start; a program that only
// imports cartwright's packages keeps its C library's defaults. Without cgo, or with a C
// library other than glibc (musl), it does nothing.
func TuneMalloc() (stop func()) {
	if !capArenas() {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				trimC()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}
