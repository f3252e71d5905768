package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

// manualCaptureConfig is a demo tenant that leaves payments authorized at completion.
const manualCaptureConfig = `tenants:
  demo:
    manual_capture: true
    builtin:
      items:
        - {id: sku_gift, title: Gift Card, price: 5000, digital: true}
`

// An order placed before a restart can be captured and refunded after it: the mock
// payment handler's payments are in the worker's store, not in its memory. Each step is
// done once, also when its envelope is sent again.
func TestPaymentsSurviveRestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		config string
	}{
		{"auto capture", ""},
		{"manual capture", manualCaptureConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := testenv.StartTestNATS(t)
			data := t.TempDir()
			args := []string{"--nats-url", ns.URL(), "--data", data, "--http-listen", "127.0.0.1:0", "--partitions", "2"}
			if tc.config != "" {
				file := filepath.Join(t.TempDir(), "cartwright.yaml")
				if err := os.WriteFile(file, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", file)
			}
			p := testenv.StartServe(t, args...)
			conn := []string{"--nats-url", ns.URL(), "--tenant", "demo", "--context", "ctx-restart"}

			must(t, 0, slices.Concat([]string{"checkout", "init"}, conn,
				[]string{"--sku", "sku_gift", "--quantity", "1", "--email", "ada@example.com"})...)
			c := decode[envelopes.Checkout](t, must(t, 0, slices.Concat([]string{"checkout", "complete"}, conn,
				[]string{"--payment-token", "tok_visa"})...))
			if c.Status != "completed" || c.Order == nil {
				t.Fatalf("complete: status %s, order %+v, messages %+v", c.Status, c.Order, c.Messages)
			}
			if err := p.Terminate(); err != nil {
				t.Fatal(err)
			}
			p.Restart()

			order := func(verb string, args ...string) run {
				t.Helper()
				return must(t, 0, slices.Concat([]string{"order", verb}, conn, []string{"--order", c.Order.ID}, args)...)
			}
			if tc.config != "" {
				o := decode[envelopes.Order](t, order("capture", "--message-id", "capture-1"))
				if o.Payment.Status != "captured" || o.Payment.Captured != 5000 {
					t.Fatalf("capture after the restart: payment %+v", o.Payment)
				}
			}
			first := order("refund", "--amount", "1000", "--message-id", "refund-1")
			o := decode[envelopes.Order](t, first)
			if o.Payment.Status != "partially_refunded" || o.Payment.Refunded != 1000 {
				t.Fatalf("refund after the restart: payment %+v", o.Payment)
			}
			if again := order("refund", "--amount", "1000", "--message-id", "refund-1"); again.stdout != first.stdout {
				t.Fatalf("the refund sent again got another reply:\n%s\n%s", first.stdout, again.stdout)
			}
			// The rest of the capture can still be refunded, and no more: had the mock
			// counted the first refund twice, 4000 would be more than is left.
			o = decode[envelopes.Order](t, order("refund", "--amount", "4000", "--message-id", "refund-2"))
			if o.Payment.Status != "refunded" || o.Payment.Refunded != 5000 {
				t.Fatalf("second refund: payment %+v", o.Payment)
			}
			must(t, 1, slices.Concat([]string{"order", "refund"}, conn, []string{"--order", c.Order.ID, "--amount", "1"})...)

			// The mock's own record: each step once, the refund sent twice included.
			if err := p.Terminate(); err != nil {
				t.Fatal(err)
			}
			st, err := store.Open(filepath.Join(data, "store"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			pay, ok, err := st.MockPayments("demo").Payment(o.Payment.ID)
			if err != nil || !ok {
				t.Fatalf("the mock has no record of %s: %v", o.Payment.ID, err)
			}
			base := c.Order.ID + ":demo:"
			want := []string{base + "refund-1:refund", base + "refund-2:refund"}
			if tc.config != "" {
				want = slices.Insert(want, 0, base+"capture-1:capture")
			}
			if pay.Captured != 5000 || pay.Refunded != 5000 || !slices.Equal(pay.Steps, want) {
				t.Fatalf("the mock's record: %+v, want steps %q", pay, want)
			}
		})
	}
}
