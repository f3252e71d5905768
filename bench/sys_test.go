package bench

import (
	"runtime"
	"testing"
	"time"
)

// The peak's parts come from the same moment as the peak: code mapped from files,
// anonymous memory, and within it what the Go runtime holds, which grows with a heap
// kept alive across the samples.
func TestPeakParts(t *testing.T) {
	if procStatusKB("RssAnon") == 0 {
		t.Skip("no /proc/self/status RssAnon here")
	}
	s := startRSSSampler(time.Millisecond)
	keep := make([][]byte, 0, 64)
	for range 64 {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = 1 // resident, not just mapped
		}
		keep = append(keep, b)
	}
	time.Sleep(20 * time.Millisecond)
	peak := s.Stop()
	at := s.parts()
	runtime.KeepAlive(keep)
	if at.file <= 0 || at.anon <= 0 {
		t.Fatalf("parts at the peak: %+v", at)
	}
	if at.goHeld < 64<<20 {
		t.Errorf("Go held %d MiB at the peak, with 64 MiB kept alive", at.goHeld>>20)
	}
	if got := at.file + at.anon; got > peak+1<<20 || got < peak-(4<<20) {
		t.Errorf("files %d + anonymous %d = %d, peak %d", at.file, at.anon, got, peak)
	}
}

// The process's CPU time and peak resident set come from the system wherever the bench
// runs (rusageSelf: getrusage on Unix, GetProcessTimes on Windows): CPU spent shows.
func TestCPUTimeGrows(t *testing.T) {
	before := cpuTime()
	x := uint64(1)
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		for range 10000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if x == 0 {
		t.Log(x) // keeps the loop
	}
	if spent := cpuTime() - before; spent < 20*time.Millisecond {
		t.Errorf("cpuTime grew by %v over 50 ms of work", spent)
	}
	if _, _, ok := rusageSelf(); !ok && runtime.GOOS != "js" && runtime.GOOS != "wasip1" {
		t.Error("rusageSelf: nothing read")
	}
	if runtime.GOOS == "linux" {
		if rss, _, _ := rusageSelf(); rss < 1<<20 {
			t.Errorf("getrusage's peak resident set: %d bytes", rss)
		}
	}
}
