package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/testenv"
)

// The client commands run as the real binary against `cartwright serve` with the demo
// tenant, on a NATS server of their own.

type run struct {
	stdout, stderr string
	code           int
}

// cw runs the binary with args and fails the test if it cannot.
func cw(t *testing.T, args ...string) run {
	t.Helper()
	r, err := exe(testenv.Binary(t), args...)
	if err != nil {
		t.Fatalf("cartwright %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// exe runs bin with args, in an environment without CARTWRIGHT_* and NATS_URL.
func exe(bin string, args ...string) (run, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CARTWRIGHT_") && !strings.HasPrefix(kv, "NATS_URL=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code, err = ee.ExitCode(), nil
	}
	return r, err
}

// must runs the binary and fails the test unless it exits with code.
func must(t *testing.T, code int, args ...string) run {
	t.Helper()
	r := cw(t, args...)
	if r.code != code {
		t.Fatalf("cartwright %s: exit %d, want %d\nstdout: %s\nstderr: %s",
			strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// startServe runs the worker on a NATS of its own and returns the flags that reach it.
func startServe(t *testing.T) []string {
	t.Helper()
	ns := testenv.StartTestNATS(t)
	testenv.StartServe(t, "--nats-url", ns.URL(), "--data", t.TempDir(),
		"--http-listen", "127.0.0.1:0", "--partitions", "2")
	return []string{"--nats-url", ns.URL(), "--tenant", "demo"}
}

func decode[T any](t *testing.T, r run) *T {
	t.Helper()
	v := new(T)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("reading %q: %v", r.stdout, err)
	}
	return v
}

func totals(ts []envelopes.Total) map[string]int64 {
	m := map[string]int64{}
	for _, t := range ts {
		m[t.Type] = t.Amount
	}
	return m
}

const caAddress = `{"street_address":"1 Market St","address_locality":"San Francisco",` +
	`"address_region":"CA","postal_code":"94105","address_country":"US"}`

var contextLine = regexp.MustCompile(`(?m)^context: (ctx-[a-z2-7]+)$`)

func TestPurchase(t *testing.T) {
	t.Parallel()
	conn := startServe(t)
	checkout := func(verb string, args ...string) *envelopes.Checkout {
		t.Helper()
		r := must(t, 0, slices.Concat([]string{"checkout", verb}, conn, args)...)
		return decode[envelopes.Checkout](t, r)
	}

	r := must(t, 0, slices.Concat([]string{"checkout", "init"}, conn)...)
	m := contextLine.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("init printed no context id on stderr: %q", r.stderr)
	}
	conn = slices.Concat(conn, []string{"--context", m[1]})
	if c := decode[envelopes.Checkout](t, r); c.Status != "incomplete" || !strings.HasPrefix(c.ID, "chk_") {
		t.Fatalf("init: %+v", c)
	}

	c := checkout("add-item", "--sku", "sku_tee", "--quantity", "2")
	if len(c.LineItems) != 1 || c.LineItems[0].Item.ID != "sku_tee" || c.LineItems[0].Quantity != 2 {
		t.Fatalf("add-item: line items %+v", c.LineItems)
	}
	checkout("set-buyer", "--email", "ada@example.com", "--first-name", "Ada", "--last-name", "Lovelace")
	c = checkout("set-shipping", "--address", caAddress)
	if c.Fulfillment == nil || len(c.Fulfillment.Methods) == 0 || len(c.Fulfillment.Methods[0].Groups) == 0 {
		t.Fatalf("set-shipping: no shipping options: %+v", c.Fulfillment)
	}
	checkout("set-shipping-option", "--option", "std")
	c = checkout("apply-discount", "--code", "SAVE10")
	if c.Status != "ready_for_complete" {
		t.Fatalf("before complete: status %s, messages %+v", c.Status, c.Messages)
	}
	c = checkout("complete", "--payment-token", "tok_visa")
	if c.Status != "completed" || c.Order == nil || !strings.HasPrefix(c.Order.ID, "ord_") {
		t.Fatalf("complete: status %s, order %+v, messages %+v", c.Status, c.Order, c.Messages)
	}
	want := map[string]int64{"subtotal": 5000, "discount": -500, "fulfillment": 500, "tax": 371, "total": 5371}
	if got := totals(c.Totals); !maps.Equal(got, want) {
		t.Fatalf("totals %v, want %v", got, want)
	}

	orderArgs := slices.Concat([]string{"order", "get"}, conn, []string{"--order", c.Order.ID})
	o := decode[envelopes.Order](t, must(t, 0, orderArgs...))
	if o.ID != c.Order.ID || o.CheckoutID != c.ID || totals(o.Totals)["total"] != 5371 {
		t.Fatalf("order get: %+v", o)
	}

	t.Run("table", func(t *testing.T) {
		out := must(t, 0, slices.Concat([]string{"checkout", "get", "--format", "table"}, conn)...).stdout
		for _, s := range []string{"status", "completed", c.Order.ID, "sku_tee", "Cartwright Tee",
			"selected  std", "discount     -5.00 USD", "total        53.71 USD"} {
			if !strings.Contains(out, s) {
				t.Errorf("checkout table lacks %q:\n%s", s, out)
			}
		}
		out = must(t, 0, slices.Concat(orderArgs, []string{"-o", "table"})...).stdout
		for _, s := range []string{"order", o.ID, "payment", o.Payment.Status, "53.71"} {
			if !strings.Contains(out, s) {
				t.Errorf("order table lacks %q:\n%s", s, out)
			}
		}
	})
	t.Run("yaml", func(t *testing.T) {
		out := must(t, 0, slices.Concat([]string{"checkout", "get", "--format", "yaml"}, conn)...).stdout
		for _, s := range []string{"\nstatus: completed\n", "id: " + c.Order.ID, `postal_code: "94105"`,
			"  - type: total\n    display_text: Total\n    amount: 5371\n"} {
			if !strings.Contains(out, s) {
				t.Errorf("yaml lacks %q:\n%s", s, out)
			}
		}
	})
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	conn := startServe(t)
	fresh := slices.Concat(conn, []string{"--context", "ctx-empty"})

	t.Run("error reply", func(t *testing.T) {
		r := must(t, 1, append([]string{"checkout", "add-item", "--sku", "sku_tee"}, fresh...)...)
		var e envelopes.RPCError
		if err := json.Unmarshal([]byte(r.stdout), &e); err != nil || e.Data == nil || e.Data.Code != "not_found" {
			t.Fatalf("want the not_found error object, got %q (%v)", r.stdout, err)
		}
		r = must(t, 1, append([]string{"order", "get", "--order", "ord_none", "-o", "table"}, fresh...)...)
		if !strings.Contains(r.stdout, "not_found") {
			t.Fatalf("table of an error: %q", r.stdout)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			append([]string{"checkout", "add-item"}, fresh...),                                  // no --sku
			append([]string{"checkout", "update-item", "--line", "li_1"}, fresh...),             // no --quantity
			append([]string{"checkout", "set-shipping", "--address", `{"street"`}, fresh...),    // bad JSON
			append([]string{"checkout", "set-shipping", "--address", `{"city":"x"}`}, fresh...), // unknown key
			append([]string{"checkout", "get", "--format", "xml"}, fresh...),
			{"checkout", "get", "--tenant", "demo", "--context", "a.b"},
			{"checkout", "get", "--context", "ctx-1"}, // no --tenant
			{"checkout", "frobnicate"},
			append([]string{"order", "refund", "--order", "ord_1", "--amount", "-5"}, fresh...),
		} {
			must(t, 2, args...)
		}
	})
	t.Run("no worker", func(t *testing.T) {
		bare := testenv.StartTestNATS(t) // no worker: nothing made the stream
		start := time.Now()
		r := must(t, 3, "checkout", "get", "--nats-url", bare.URL(), "--tenant", "demo",
			"--context", "ctx-1", "--timeout", "1s")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("exit 3 after %s with --timeout 1s", d)
		}
		if !strings.Contains(r.stderr, "--message-id msg-") {
			t.Errorf("stderr does not say how to retry: %q", r.stderr)
		}
	})
	t.Run("no NATS", func(t *testing.T) {
		must(t, 3, "checkout", "get", "--nats-url", "nats://127.0.0.1:1", "--tenant", "demo",
			"--context", "ctx-1", "--timeout", "1s")
	})
}

// A repeated messageId is the same command: the second run gets the first reply and
// changes nothing.
func TestSameMessageID(t *testing.T) {
	t.Parallel()
	conn := slices.Concat(startServe(t), []string{"--context", "ctx-same"})
	must(t, 0, slices.Concat([]string{"checkout", "init"}, conn)...)
	add := slices.Concat([]string{"checkout", "add-item", "--sku", "sku_mug", "--quantity", "3", "--message-id", "add-1"}, conn)
	first := must(t, 0, add...)
	if again := must(t, 0, add...); again.stdout != first.stdout {
		t.Fatalf("replayed reply differs:\n%s\n%s", first.stdout, again.stdout)
	}
	c := decode[envelopes.Checkout](t, must(t, 0, slices.Concat([]string{"checkout", "get"}, conn)...))
	if len(c.LineItems) != 1 || c.LineItems[0].Quantity != 3 {
		t.Fatalf("line items %+v, want one line of 3", c.LineItems)
	}
}

// A client that starts before the worker has made its streams gets its reply from a retry.
func TestRetryUntilWorkerUp(t *testing.T) {
	t.Parallel()
	ns := testenv.StartTestNATS(t)
	bin := testenv.Binary(t)
	done := make(chan run, 1)
	go func() {
		r, err := exe(bin, "checkout", "init", "--nats-url", ns.URL(), "--tenant", "demo",
			"--context", "ctx-late", "--timeout", "12s", "--sku", "sku_cap")
		if err != nil {
			r.code, r.stderr = -1, err.Error()
		}
		done <- r
	}()
	time.Sleep(500 * time.Millisecond) // the first publish finds no stream
	testenv.StartServe(t, "--nats-url", ns.URL(), "--data", t.TempDir(),
		"--http-listen", "127.0.0.1:0", "--partitions", "2")
	r := <-done
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if c := decode[envelopes.Checkout](t, r); len(c.LineItems) != 1 {
		t.Fatalf("checkout %s", r.stdout)
	}
}

// Every verb documents itself with an example against the demo tenant.
func TestHelp(t *testing.T) {
	t.Parallel()
	verbs := map[string][]string{
		"checkout": {"init", "get", "add-item", "update-item", "remove-item", "set-buyer", "set-shipping",
			"shipping-options", "set-shipping-option", "apply-discount", "remove-discount", "complete", "cancel"},
		"order": {"get", "cancel", "capture", "void", "refund"},
	}
	for group, vs := range verbs {
		out := must(t, 0, group, "--help").stdout
		for _, s := range []string{"Exit status", "Examples:"} {
			if !strings.Contains(out, s) {
				t.Errorf("%s --help lacks %q", group, s)
			}
		}
		for _, v := range vs {
			if !strings.Contains(out, "\n  "+v+" ") {
				t.Errorf("%s --help does not list %s", group, v)
			}
			out := must(t, 0, group, v, "--help").stdout
			if !strings.Contains(out, "Examples:\n  cartwright "+group+" "+v+" --tenant demo") {
				t.Errorf("%s %s --help has no example for the demo tenant:\n%s", group, v, out)
			}
		}
	}
}
