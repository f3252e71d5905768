package main_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cartwright-dev/cartwright/testenv"
)

// exeWithin runs the binary as exeEnv does, but kills it after d: the tests here are about
// serve giving up, and a serve that waits instead must fail them, not hang them.
func exeWithin(t *testing.T, d time.Duration, env []string, args ...string) (run, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Binary(t), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CARTWRIGHT_") && !strings.HasPrefix(kv, "NATS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	r := run{stderr: out.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code, err = ee.ExitCode(), nil
	}
	if ctx.Err() != nil {
		t.Fatalf("cartwright %s still running after %s:\n%s", strings.Join(args, " "), d, r.stderr)
	}
	if err != nil {
		t.Fatalf("cartwright %s: %v", strings.Join(args, " "), err)
	}
	return r, took
}

// TestServeWrongTokenExits: a NATS that refuses serve's credentials at start-up ends it
// with exit 2 and a message that says so, instead of a worker retrying for ever with no
// HTTP endpoints up.
func TestServeWrongTokenExits(t *testing.T) {
	ns := testenv.StartTestNATSWith(t, func(o *server.Options) { o.Authorization = "the-right-token-1234" })
	r, took := exeWithin(t, 30*time.Second, []string{"CARTWRIGHT_NATS_TOKEN=a-wrong-token-5678"},
		"serve", "--nats-url", ns.URL(), "--data", t.TempDir(), "--http-listen", testenv.FreeAddr(t))
	if r.code != 2 || !strings.Contains(r.stderr, "NATS refused the credentials") {
		t.Errorf("exit %d after %s:\n%s", r.code, took, r.stderr)
	}
	if took > 15*time.Second {
		t.Errorf("took %s to give up", took)
	}
	if strings.Contains(r.stderr, "a-wrong-token-5678") || strings.Contains(r.stderr, "the-right-token-1234") {
		t.Errorf("a token in the output:\n%s", r.stderr)
	}
}

// TestServeSecondOnSameDataExits: a second serve on the data directory of a live one
// exits 2 naming the first one's pid, before it starts an embedded NATS server on the
// first one's JetStream store; the first one keeps working.
func TestServeSecondOnSameDataExits(t *testing.T) {
	data := t.TempDir()
	first := testenv.StartServe(t, "--data", data, "--nats-listen", testenv.FreeAddr(t),
		"--http-listen", testenv.FreeAddr(t), "--partitions", "1")
	r, took := exeWithin(t, 30*time.Second, nil, "serve", "--data", data, "--nats-listen", testenv.FreeAddr(t),
		"--http-listen", testenv.FreeAddr(t), "--partitions", "1")
	want := "the data directory " + data + " is in use by another cartwright (pid " + strconv.Itoa(first.Pid()) + ")"
	if r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d after %s, want 2 and %q:\n%s", r.code, took, want, r.stderr)
	}
	if strings.Contains(r.stderr, "embedded NATS") {
		t.Errorf("the second serve started an embedded NATS server:\n%s", r.stderr)
	}
	if err := first.Terminate(); err != nil {
		t.Errorf("the first serve, after the second: %v", err)
	}
	if strings.Contains(first.Output(), "ERROR") {
		t.Errorf("the first serve logged errors:\n%s", first.Output())
	}
}

// TestServeStreamsRefusedExits: an account with JetStream limits refuses streams without
// a size; serve exits 2 saying which setting to give, and starts once it is given.
func TestServeStreamsRefusedExits(t *testing.T) {
	ns := testenv.StartTestNATSConfig(t, `accounts { SHOP {
		jetstream { max_file: 128MB, max_mem: 1MB, max_bytes_required: true }
		users [{user: worker, password: a-password-for-the-worker}]
	} }`)
	env := []string{"CARTWRIGHT_NATS_PASSWORD=a-password-for-the-worker"}
	data := t.TempDir()
	args := []string{"serve", "--nats-url", ns.URL(), "--user", "worker", "--data", data,
		"--http-listen", testenv.FreeAddr(t), "--partitions", "1"}
	r, _ := exeWithin(t, 30*time.Second, env, args...)
	if r.code != 2 || !strings.Contains(r.stderr, "create stream A2A_IN: the account's JetStream limits require a max_bytes "+
		"on every stream; set streams.requests.max_bytes") {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}

	four := "streams:\n  requests: {max_bytes: 16MiB}\n" +
		"  replies: {max_bytes: 8MiB}\n  dead_letters: {max_bytes: 8MiB}\n  events: {max_bytes: 8MiB}\n"
	// The changelog, on by default with --nats-url, needs one too.
	r, _ = exeWithin(t, 30*time.Second, env, append(args, "--config", writeFile(t, "four.yaml", four))...)
	if r.code != 2 || !strings.Contains(r.stderr, "set streams.changelog.max_bytes") {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
	conf := writeFile(t, "cartwright.yaml", four+"  changelog: {max_bytes: 16MiB}\n")
	p := testenv.StartServeEnv(t, env, append(args[1:], "--config", conf)...)
	if err := p.Terminate(); err != nil {
		t.Error(err)
	}
}

// TestServeOnAnotherEmbeddedExits: a worker pointed with --nats-url at the embedded NATS
// server of another worker exits 2 saying so (CONTRACT.md section 10): that server's
// store is the other worker's and goes with it. The embedded worker goes on.
func TestServeOnAnotherEmbeddedExits(t *testing.T) {
	nats := testenv.FreeAddr(t)
	first := testenv.StartServe(t, "--data", t.TempDir(), "--nats-listen", nats,
		"--http-listen", testenv.FreeAddr(t), "--partitions", "1")
	r, took := exeWithin(t, 30*time.Second, nil, "serve", "--nats-url", "nats://"+nats, "--data", t.TempDir(),
		"--http-listen", testenv.FreeAddr(t), "--partitions", "1")
	if r.code != 2 || !strings.Contains(r.stderr, "is the embedded NATS server of another cartwright worker") {
		t.Errorf("exit %d after %s, want 2 and the reason:\n%s", r.code, took, r.stderr)
	}
	if strings.Contains(r.stderr, "worker running") {
		t.Errorf("the second worker ran:\n%s", r.stderr)
	}
	if err := first.Terminate(); err != nil {
		t.Errorf("the embedded worker, after the second: %v", err)
	}
}
