package group_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus/group"
	"github.com/cartwright-dev/cartwright/testenv"
)

const (
	fenceEnv        = "CARTWRIGHT_GROUP_FENCE_CHILD"
	fencePartitions = 4
)

func TestMain(m *testing.M) {
	if urls := strings.Fields(os.Getenv(fenceEnv)); len(urls) == 2 {
		fenceChild(urls[0], urls[1])
		return
	}
	os.Exit(m.Run())
}

func fenceConfig(id string) group.Config {
	cfg := testConfig(id, fencePartitions)
	cfg.Bucket = "T_FENCE"
	return cfg
}

// fenceChild is a worker reduced to its fence: for each partition it holds it publishes
// a marker "fence.<p>" carrying the epoch, and only while Valid says yes. Its group
// traffic goes through groupURL, its markers through markerURL.
func fenceChild(groupURL, markerURL string) {
	gc, err := nats.Connect(groupURL, nats.MaxReconnects(-1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	nc, err := nats.Connect(markerURL, nats.MaxReconnects(-1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	js, _ := jetstream.New(gc)
	m, err := group.Join(context.Background(), js, fenceConfig("child"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	held := map[int]uint64{}
	go func() {
		for e := range m.Events() {
			mu.Lock()
			switch e.Kind {
			case group.Acquired:
				held[e.Partition] = e.Epoch
			case group.Releasing, group.Lost:
				delete(held, e.Partition)
			}
			mu.Unlock()
			e.Done()
		}
	}()
	for {
		mu.Lock()
		for p, epoch := range held {
			if m.Valid(p, epoch) {
				nc.Publish("fence."+strconv.Itoa(p), []byte(strconv.FormatUint(epoch, 10)))
			}
		}
		mu.Unlock()
		nc.Flush()
		time.Sleep(20 * time.Millisecond)
	}
}

type marker struct {
	p     int
	epoch uint64
	at    time.Time
}

// A worker paused past its leases (SIGSTOP) and resumed after another took its
// partitions over publishes nothing more under the leases it lost.
func TestFenceAfterSIGSTOP(t *testing.T) {
	n := testenv.StartTestNATS(t)
	nc := testenv.NewClient(t, n.URL()).Conn()
	markers := make(chan marker, 1<<16)
	if _, err := nc.Subscribe("fence.*", func(msg *nats.Msg) {
		p, _ := strconv.Atoi(strings.TrimPrefix(msg.Subject, "fence."))
		e, _ := strconv.ParseUint(string(msg.Data), 10, 64)
		markers <- marker{p: p, epoch: e, at: time.Now()}
	}); err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	var stderr bytes.Buffer
	child := exec.Command(os.Args[0], "-test.run=^$")
	// The child's group traffic goes through a proxy the test can hold, so that on
	// waking up it cannot learn from the server that its leases are gone: only its own
	// clock can stop it.
	px := startProxy(t, n.Server.Addr().String())
	child.Env = append(os.Environ(), fenceEnv+"=nats://"+px.addr()+" "+n.URL())
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		child.Process.Signal(syscall.SIGCONT)
		child.Process.Kill()
		child.Wait()
		if t.Failed() {
			t.Logf("child stderr:\n%s", stderr.String())
		}
	})

	// The child alone holds every partition.
	before := map[int]uint64{}
	deadline := time.After(10 * time.Second)
	for len(before) < fencePartitions {
		select {
		case mk := <-markers:
			before[mk.p] = mk.epoch
		case <-deadline:
			t.Fatalf("child published for partitions %v only", before)
		}
	}
	// Stop it right after a marker arrives: it has just flushed, so it is asleep between
	// two rounds and not between a check and its publish (that window, a pause landing
	// after Valid said yes, is what the changelog's epoch fence closes; see
	// docs/workers.md).
	<-markers
	if err := child.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	px.hold(true)

	b := join(t, n.URL(), fenceConfig("b"))
	waitSpread(t, testTTL+5*time.Second, fencePartitions, b)
	takeover := time.Now()
	t.Logf("b took every partition over %v after the stop", takeover.Sub(stoppedAt))
	if err := child.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Awake, cut off from the server, holding leases that another member now holds.
	time.Sleep(2 * testTTL)
	px.hold(false)

	// The child wakes with its leases expired, joins again and gets its share back under
	// new epochs: what it publishes then is legitimate, and shows it is alive.
	var stale []marker
	rejoined := map[int]bool{}
	deadline = time.After(10 * time.Second)
	for len(rejoined) < fencePartitions/2 {
		select {
		case mk := <-markers:
			if !mk.at.After(takeover) {
				continue
			}
			if mk.epoch <= before[mk.p] {
				stale = append(stale, mk)
			} else {
				rejoined[mk.p] = true
			}
		case <-deadline:
			t.Fatalf("the child published for %v only after it was resumed", rejoined)
		}
	}
	eventually(t, 5*time.Second, "b keeps its half", func() bool { return len(b.Owned()) == fencePartitions/2 })
	for _, mk := range stale {
		t.Errorf("marker for partition %d under the lost epoch %d, %v after the takeover", mk.p, mk.epoch, mk.at.Sub(takeover))
	}
}

// proxy forwards TCP connections to a server and can hold every byte in both
// directions until released.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	cond   *sync.Cond
	paused bool
}

func startProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.cond = sync.NewCond(&p.mu)
	t.Cleanup(func() {
		p.hold(false)
		ln.Close()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go p.pipe(u, c)
			go p.pipe(c, u)
		}
	}()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) hold(on bool) {
	p.mu.Lock()
	p.paused = on
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		for p.paused {
			p.cond.Wait()
		}
		p.mu.Unlock()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
