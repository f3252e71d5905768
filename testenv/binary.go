package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// Main runs a package's tests and removes the binary Binary built, if any. Call it from
// TestMain.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	return code
}

// Binary builds cmd/cartwright once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Dir(filepath.Dir(file))
		buildDir, buildErr = os.MkdirTemp("", "cartwright-bin-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "cartwright")
		// -buildvcs=auto: stamp the revision (cartwright version) even where GOFLAGS turns it off.
		cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", buildPath, "./cmd/cartwright")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Proc is the real cartwright binary running as a subprocess.
type Proc struct {
	t    testing.TB
	Args []string
	// Env is added to the test's own environment, later entries winning.
	Env    []string
	cmd    *exec.Cmd
	stderr *LogBuffer
	past   []*LogBuffer // the output of earlier runs, before a Restart
	exited chan struct{}
}

// StartServe runs `cartwright serve` with args and waits until its worker is running.
func StartServe(t testing.TB, args ...string) *Proc {
	t.Helper()
	return StartServeEnv(t, nil, args...)
}

// StartServeEnv is StartServe with env (KEY=value) added to the process's environment:
// secrets, which serve takes from the environment and never from its arguments.
func StartServeEnv(t testing.TB, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, Args: append([]string{"serve"}, args...), Env: env}
	p.start()
	t.Cleanup(func() { p.Kill() })
	return p
}

func (p *Proc) start() {
	t := p.t
	t.Helper()
	if p.stderr != nil {
		p.past = append(p.past, p.stderr)
	}
	p.stderr = &LogBuffer{}
	p.cmd = exec.Command(Binary(t), p.Args...)
	if p.Env != nil {
		p.cmd.Env = append(os.Environ(), p.Env...)
	}
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() { p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.stderr.String(), "worker running") {
		select {
		case <-p.exited:
			t.Fatalf("cartwright exited while starting:\n%s", p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cartwright not running after 20s:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to end.
func (p *Proc) Kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Terminate sends SIGTERM and waits for a clean exit.
func (p *Proc) Terminate() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.Kill()
		return fmt.Errorf("cartwright did not stop within 30s after SIGTERM")
	}
	if !p.cmd.ProcessState.Success() {
		return fmt.Errorf("cartwright exited with %v:\n%s", p.cmd.ProcessState, p.stderr.String())
	}
	return nil
}

// Restart starts the process again with the same arguments.
func (p *Proc) Restart() { p.start() }

// Output is what the process printed so far.
func (p *Proc) Output() string { return p.stderr.String() }

// AllOutput is what every run of the process printed, the earliest first, each run
// headed by a line of its own.
func (p *Proc) AllOutput() string {
	var b strings.Builder
	for i, l := range append(p.past, p.stderr) {
		fmt.Fprintf(&b, "=== run %d\n%s", i+1, l.String())
	}
	return b.String()
}

// LogBuffer is a log sink that goroutines may write while a test reads it.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *LogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *LogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Pid is the process's id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }
