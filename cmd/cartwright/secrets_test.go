package main_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/testenv"
)

// NATS secrets reach cartwright from the environment or from files, never from its
// arguments (which ps shows) or its configuration file (which is checked in and copied
// around), and never reach its log.

// exeEnv is exe with env (KEY=value) added to the filtered environment.
func exeEnv(t *testing.T, env []string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Binary(t), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CARTWRIGHT_") && !strings.HasPrefix(kv, "NATS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code, err = ee.ExitCode(), nil
	}
	if err != nil {
		t.Fatalf("cartwright %s: %v", strings.Join(args, " "), err)
	}
	return r
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSecretFlagsRefused: --token and --password are refused, naming where the secret
// goes instead, before anything else happens.
func TestSecretFlagsRefused(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for _, args := range [][]string{
		{"serve", "--config", missing, "--token", "hunter2-hunter2"},
		{"serve", "--config", missing, "--user", "worker", "--password", "hunter2-hunter2"},
		{"checkout", "get", "--nats-url", "nats://127.0.0.1:1", "--tenant", "demo", "--context", "c1", "--timeout", "1s", "--token", "hunter2-hunter2"},
		{"dlq", "ls", "--nats-url", "nats://127.0.0.1:1", "--password=hunter2-hunter2"},
	} {
		r := cw(t, args...)
		secret := "--token"
		if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--password") }) {
			secret = "--password"
		}
		if r.code != 2 || !strings.Contains(r.stderr, secret+"-file") || !strings.Contains(r.stderr, "NATS_") {
			t.Errorf("%s: exit %d, want 2 and a message naming %s-file and the environment:\n%s",
				strings.Join(args, " "), r.code, secret, r.stderr)
		}
		if strings.Contains(r.stderr, "hunter2") {
			t.Errorf("%s: the secret is echoed:\n%s", strings.Join(args, " "), r.stderr)
		}
	}
	r := cw(t, "checkout", "get", "--nats-url", "nats://ada:hunter2-hunter2@127.0.0.1:1", "--tenant", "demo", "--context", "c1")
	if r.code != 2 || !strings.Contains(r.stderr, "NATS_URL") || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("a password in --nats-url: exit %d, want 2 and a message naming NATS_URL:\n%s", r.code, r.stderr)
	}
	for _, prefix := range []string{"_INBOX_acme", "acme", "_INBOX.acme.", "_INBOX.*"} {
		r := cw(t, "checkout", "get", "--nats-url", "nats://127.0.0.1:1", "--tenant", "demo", "--context", "c1", "--inbox-prefix", prefix)
		if r.code != 2 || !strings.Contains(r.stderr, "--inbox-prefix") {
			t.Errorf("--inbox-prefix %s: exit %d, want 2:\n%s", prefix, r.code, r.stderr)
		}
	}
	if out := cw(t, "serve", "--help").stdout; strings.Contains(out, "--token ") || strings.Contains(out, "--password ") {
		t.Errorf("serve --help still offers the secret flags:\n%s", out)
	}
}

// TestNATSTokenFromEnvironment: a worker and clients reach a token-protected nats-server
// with the token from the environment or from a file, and without it they do not.
func TestNATSTokenFromEnvironment(t *testing.T) {
	t.Parallel()
	const token = "tok-0123456789abcdef"
	ns := testenv.StartTestNATSWith(t, func(o *server.Options) { o.Authorization = token })
	p := testenv.StartServeEnv(t, []string{"CARTWRIGHT_NATS_TOKEN=" + token}, "--nats-url", ns.URL(),
		"--data", t.TempDir(), "--http-listen", "127.0.0.1:0", "--partitions", "2")
	if strings.Contains(p.Output(), token) {
		t.Errorf("the token is in the log:\n%s", p.Output())
	}
	conn := []string{"--nats-url", ns.URL(), "--tenant", "demo", "--timeout", "20s"}
	if r := exeEnv(t, []string{"NATS_TOKEN=" + token}, slices.Concat([]string{"checkout", "init", "--context", "ctx-env"}, conn)...); r.code != 0 {
		t.Fatalf("NATS_TOKEN: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	file := writeFile(t, "token", token+"\n") // as an editor or a secret mount leaves it
	if r := exeEnv(t, nil, slices.Concat([]string{"checkout", "get", "--context", "ctx-env", "--token-file", file}, conn)...); r.code != 0 {
		t.Fatalf("--token-file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := exeEnv(t, nil, slices.Concat([]string{"checkout", "get", "--context", "ctx-env"}, conn)...); r.code != 3 ||
		!strings.Contains(strings.ToLower(r.stderr), "authorization") {
		t.Fatalf("no token: exit %d, want 3 and an authorization error\n%s", r.code, r.stderr)
	}
}

// TestServeRedactsURL: a password in the NATS URL never reaches the log, neither while the
// worker waits for NATS nor once connected.
func TestServeRedactsURL(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	const password = "pw-0123456789abcdef"
	dir := t.TempDir()
	testenv.Binary(t) // built before the clock below starts
	started := make(chan *server.Server, 1)
	t.Cleanup(func() {
		if ns := <-started; ns != nil {
			ns.Shutdown()
			ns.WaitForShutdown()
		}
	})
	go func() {
		time.Sleep(3 * time.Second) // the worker logs its first failed attempt meanwhile
		o := bus.EmbeddedOptions("127.0.0.1", port, dir)
		o.Users = []*server.User{{Username: "worker", Password: password}}
		ns, err := bus.StartEmbedded(o)
		if err != nil {
			t.Error(err)
		}
		started <- ns
	}()
	url := "nats://worker:" + password + "@127.0.0.1:" + strconv.Itoa(port)
	// The environment, since a password on the command line is refused (ps shows it).
	p := testenv.StartServeEnv(t, []string{"CARTWRIGHT_NATS_URL=" + url},
		"--data", t.TempDir(), "--http-listen", "127.0.0.1:0", "--partitions", "2")
	out := p.Output()
	if strings.Contains(out, password) {
		t.Fatalf("the password is in the log:\n%s", out)
	}
	for _, want := range []string{"cannot connect to NATS yet", "connected to NATS", "worker:xxxxx@127.0.0.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

// TestLimitsFromFile: limits.max_envelope_bytes, as docs/agents.md spells it, is read
// from the file and bounds what the worker accepts.
func TestLimitsFromFile(t *testing.T) {
	t.Parallel()
	ns := testenv.StartTestNATS(t)
	cfg := writeFile(t, "limits.yaml", "limits:\n  max_envelope_bytes: 2048\n")
	testenv.StartServe(t, "--config", cfg, "--nats-url", ns.URL(), "--data", t.TempDir(),
		"--http-listen", "127.0.0.1:0", "--partitions", "2")
	send := func(pad int) run {
		env := `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message",` +
			`"role":"user","messageId":"m-` + strconv.Itoa(pad) + `","parts":[{"kind":"data","data":{"action":"create_checkout"}}],` +
			`"metadata":{"note":"` + strings.Repeat("x", pad) + `"}}}}`
		return cw(t, "send", "--nats-url", ns.URL(), "--tenant", "demo", "--context", "ctx-"+strconv.Itoa(pad),
			"--timeout", "20s", writeFile(t, "env.json", env))
	}
	if r := send(100); r.code != 0 {
		t.Fatalf("a small envelope: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := send(3000); r.code != 1 || !strings.Contains(r.stdout, "envelope_too_large") {
		t.Fatalf("an envelope of 3 KB under a 2 KB limit: exit %d, want 1 and envelope_too_large\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestEmbeddedNotOpenByAccident: an embedded NATS on a non-loopback address needs
// authentication; with a token from the environment it starts, and turns away clients
// without it.
func TestEmbeddedNotOpenByAccident(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	r := cw(t, "serve", "--nats-listen", "0.0.0.0:"+port, "--data", t.TempDir(), "--http-listen", "127.0.0.1:0")
	if r.code != 2 || !strings.Contains(r.stderr, "0.0.0.0:"+port) || !strings.Contains(r.stderr, "CARTWRIGHT_NATS_TOKEN") {
		t.Fatalf("exit %d, want 2 and a message naming the address and how to authenticate:\n%s", r.code, r.stderr)
	}

	const token = "tok-fedcba9876543210"
	p := testenv.StartServeEnv(t, []string{"CARTWRIGHT_NATS_TOKEN=" + token}, "--nats-listen", "0.0.0.0:"+port,
		"--data", t.TempDir(), "--http-listen", "127.0.0.1:0", "--partitions", "2")
	url := "nats://127.0.0.1:" + port
	if nc, err := nats.Connect(url, nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("an unauthenticated client was let in")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("an unauthenticated client: %v, want an authorization violation", err)
	}
	conn := []string{"--nats-url", url, "--tenant", "demo", "--context", "ctx-open", "--timeout", "20s"}
	if r := exeEnv(t, []string{"NATS_TOKEN=" + token}, slices.Concat([]string{"checkout", "init"}, conn)...); r.code != 0 {
		t.Fatalf("with the token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(p.Output(), token) {
		t.Errorf("the token is in the log:\n%s", p.Output())
	}

	// A nats-server configuration file with users authenticates as well; the worker
	// presents one of them.
	ln, err = net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	conf := writeFile(t, "nats.conf", "authorization { users = [{user: cartwright, password: pw-fedcba9876543210}] }\n")
	p = testenv.StartServeEnv(t, []string{"NATS_USER=cartwright", "NATS_PASSWORD=pw-fedcba9876543210"},
		"--nats-listen", "0.0.0.0:"+port, "--nats-config", conf,
		"--data", t.TempDir(), "--http-listen", "127.0.0.1:0", "--partitions", "2")
	if !strings.Contains(p.Output(), `"auth":"users"`) { // JSON: not a terminal
		t.Errorf("the log does not say the embedded server asks for users:\n%s", p.Output())
	}
	if nc, err := nats.Connect("nats://127.0.0.1:"+port, nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("--nats-config: an unauthenticated client was let in")
	}
}
