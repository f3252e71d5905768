package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procStatusKB reads a "Name:   123 kB" field of /proc/self/status (0 where there is none).
func procStatusKB(field string) int64 { return procStatusKBOf("/proc/self/status", field) }

// procStatusKBOf reads a field of the status file at path (/proc/<pid>/status).
func procStatusKBOf(path, field string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// peakRSS is the process's peak resident set in bytes: VmHWM, or getrusage's maxrss
// where /proc is not there.
func peakRSS() int64 {
	if kb := procStatusKB("VmHWM"); kb > 0 {
		return kb << 10
	}
	rss, _, _ := rusageSelf()
	return rss
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux ≥ 4.0), so that the
// peak of a phase leaves out what came before it. It reports whether it could.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// cpuTime is the CPU time the process has used so far, user and system.
func cpuTime() time.Duration {
	_, cpu, _ := rusageSelf()
	return cpu
}

// machineBusy is the CPU time all processes have used so far (every CPU's time but idle
// and iowait, from /proc/stat); 0 where there is no /proc.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// loadAverage is the one-minute load average.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// rssSampler samples VmRSS, a second opinion on the peak where VmHWM cannot be reset,
// and what the resident set held at the highest sample (at).
type rssSampler struct {
	mu   sync.Mutex
	peak int64
	at   rssParts
	stop chan struct{}
	done chan struct{}
}

// rssParts splits a resident set: the mapped files (the binary's code, mostly), the
// anonymous memory, and of that what the Go runtime holds (heap, stacks and its own
// structures, less what it has handed back); the rest of the anonymous memory is C
// memory, Pebble's block cache and memtables.
type rssParts struct {
	file, anon, goHeld int64
}

// goHeld is what the Go runtime has mapped and not handed back to the system.
func goHeld() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
}

func startRSSSampler(every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	rss := procStatusKB("VmRSS") << 10
	s.mu.Lock()
	defer s.mu.Unlock()
	if rss > s.peak {
		s.peak = rss
		s.at = rssParts{file: procStatusKB("RssFile") << 10, anon: procStatusKB("RssAnon") << 10, goHeld: goHeld()}
	}
}

// Stop ends the sampling and returns the peak seen.
func (s *rssSampler) Stop() int64 {
	close(s.stop)
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// parts is what the resident set held at the highest sample. REQUIRES: after Stop.
func (s *rssSampler) parts() rssParts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// peakMeter measures the peak RSS of one phase: VmHWM reset at its start where Linux
// allows, else (and besides) VmRSS sampled every 50 ms.
type peakMeter struct {
	reset   bool
	sampler *rssSampler
}

// startPeak starts a phase; before is the peak so far, for the whole run's.
func startPeak() (p *peakMeter, before int64) {
	before = peakRSS()
	return &peakMeter{reset: resetPeakRSS(), sampler: startRSSSampler(50 * time.Millisecond)}, before
}

func (p *peakMeter) stop() int64 {
	peak := p.sampler.Stop()
	if p.reset {
		peak = max(peak, peakRSS())
	}
	return peak
}

// parts is what the resident set held at the highest sample. REQUIRES: after stop.
func (p *peakMeter) parts() rssParts { return p.sampler.parts() }

func (p *peakMeter) source() string {
	if p.reset {
		return "VmHWM, reset at the start of the phase"
	}
	return "VmRSS sampled every 50 ms"
}
