package bus_test

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/testenv"
)

var update = flag.Bool("update", false, "rewrite the expected output of the scenario files")

// TestScenarios runs every file in testdata/scenarios against a real worker (embedded
// nats-server, real Pebble). A file is a list of steps:
//
//	send <context> <messageId> [bare] [tenant=T] [ctx=ID] [meta-tenant=T] [reply-to=S] [id=JSON]
//	<the data part, JSON>
//	----
//	<the reply, summarized>
//
//	raw <context> [tenant=T] [reply-to=S]
//	<the whole envelope, as is>
//	----
//	<the reply, summarized, and the dead letter if any>
//
//	subject <subject>
//	<the whole envelope>
//	----
//	<the dead letter>
//
// Steps are separated by a blank line after the expected block. `go test -run
// TestScenarios ./bus -update` rewrites the expected blocks from what the worker says.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	w := testenv.StartWorker(t, nil, handlers.Options{})
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScenario(t, w, file)
		})
	}
}

type step struct {
	directive string
	args      []string
	input     string
	expected  string
	line      int
}

func parseScenario(t *testing.T, file string) (steps []step, header string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cur *step
	state := "between"
	var head []string
	var in, exp []string
	n := 0
	flush := func() {
		if cur != nil {
			cur.input = strings.Join(in, "\n")
			cur.expected = strings.TrimRight(strings.Join(exp, "\n"), "\n")
			steps = append(steps, *cur)
		}
		cur, in, exp = nil, nil, nil
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		switch state {
		case "between":
			if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
				if len(steps) == 0 && cur == nil {
					head = append(head, line)
				}
				continue
			}
			fields := strings.Fields(line)
			cur = &step{directive: fields[0], args: fields[1:], line: n}
			state = "input"
		case "input":
			if line == "----" {
				state = "expected"
				continue
			}
			in = append(in, line)
		case "expected":
			if strings.TrimSpace(line) == "" {
				flush()
				state = "between"
				continue
			}
			exp = append(exp, line)
		}
	}
	flush()
	return steps, strings.Join(head, "\n")
}

func runScenario(t *testing.T, w *testenv.Worker, file string) {
	steps, header := parseScenario(t, file)
	c := testenv.NewClient(t, w.NATS.URL())
	dlq, err := c.Conn().SubscribeSync("a2a.dlq.>")
	if err != nil {
		t.Fatal(err)
	}
	// Contexts are made unique per run, so that scenario files never see each other's
	// (or an earlier run's) state; the summaries print them back as written.
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	orders := map[string]string{} // the last order id seen per context, for "$order"
	var out strings.Builder
	if header != "" {
		out.WriteString(header + "\n")
	}
	failed := false
	for _, s := range steps {
		got := runStep(t, c, dlq, s, run, orders)
		if got != s.expected {
			failed = true
			if !*update {
				t.Errorf("%s:%d: %s %s\n--- want\n%s\n--- got\n%s", file, s.line, s.directive,
					strings.Join(s.args, " "), s.expected, got)
			}
		}
		if out.Len() > 0 {
			out.WriteString("\n")
		}
		out.WriteString(strings.Join(append([]string{s.directive}, s.args...), " ") + "\n")
		if s.input != "" {
			out.WriteString(s.input + "\n")
		}
		out.WriteString("----\n" + got + "\n")
	}
	if *update && failed {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func opts(args []string) (pos []string, kv map[string]string) {
	kv = map[string]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			kv[k] = v
		} else {
			pos = append(pos, a)
		}
	}
	return pos, kv
}

func runStep(t *testing.T, c *testenv.Client, dlq *nats.Subscription, s step, run string, orders map[string]string) string {
	t.Helper()
	pos, kv := opts(s.args)
	tenant := kv["tenant"]
	if tenant == "" {
		tenant = "demo"
	}
	hdr := nats.Header{}
	if rt := kv["reply-to"]; rt != "" {
		hdr.Set("A2A-Reply-To", rt)
	}
	var reply *nats.Msg
	var err error
	switch s.directive {
	case "send":
		if len(pos) < 2 {
			t.Fatalf("line %d: send <context> <messageId>", s.line)
		}
		contextID := pos[0] + "-" + run
		var data any
		input := strings.ReplaceAll(s.input, "$order", orders[pos[0]])
		if err := json.Unmarshal([]byte(input), &data); err != nil {
			t.Fatalf("line %d: data: %v", s.line, err)
		}
		msg := map[string]any{"kind": "message", "role": "user", "messageId": pos[0] + "." + pos[1] + "-" + run,
			"parts": []any{map[string]any{"kind": "data", "data": data}}}
		if v, ok := kv["ctx"]; ok {
			msg["contextId"] = v
		}
		if v, ok := kv["meta-tenant"]; ok {
			msg["metadata"] = map[string]any{"tenant": v}
		}
		var body any = msg
		if !contains(pos, "bare") {
			id := json.RawMessage(`"req-` + pos[1] + `"`)
			if v, ok := kv["id"]; ok {
				id = json.RawMessage(v)
			}
			body = map[string]any{"jsonrpc": "2.0", "id": id, "method": "message/send",
				"params": map[string]any{"message": msg}}
		}
		b, _ := json.Marshal(body)
		reply, err = requestTo(c, tenant, contextID, b, hdr)
	case "raw":
		reply, err = requestTo(c, tenant, pos[0]+"-"+run, []byte(s.input), hdr)
	case "subject":
		_, err = c.JetStream().PublishMsg(t.Context(), &nats.Msg{Subject: pos[0], Data: []byte(s.input), Header: hdr})
		if err != nil {
			return "publish error: " + err.Error()
		}
	default:
		t.Fatalf("line %d: unknown directive %q", s.line, s.directive)
	}
	var lines []string
	if s.directive != "subject" {
		if err != nil {
			lines = append(lines, "no reply: "+err.Error())
		} else {
			lines = append(lines, summarize(reply, run)...)
			if id := orderID(reply); id != "" && len(pos) > 0 {
				orders[pos[0]] = id
			}
		}
	}
	// A dead letter is published in the same batch as the reply, before it.
	wait := 100 * time.Millisecond
	if s.directive == "subject" {
		wait = 5 * time.Second
	}
	if m, err := dlq.NextMsg(wait); err == nil {
		lines = append(lines, fmt.Sprintf("dead letter on %s: %s (%s)", strings.ReplaceAll(m.Subject, "-"+run, ""),
			m.Header.Get("A2A-Error-Code"), m.Header.Get("A2A-Error")))
	}
	return strings.Join(lines, "\n")
}

func requestTo(c *testenv.Client, tenant, contextID string, body []byte, hdr nats.Header) (*nats.Msg, error) {
	if hdr.Get("A2A-Reply-To") != "" {
		// The reply goes elsewhere: listen there.
		sub, err := c.Conn().SubscribeSync(hdr.Get("A2A-Reply-To"))
		if err != nil {
			return nil, err
		}
		defer sub.Unsubscribe()
		out, err := c.Conn().SubscribeSync("a2a.out." + tenant + "." + contextID)
		if err != nil {
			return nil, err
		}
		defer out.Unsubscribe()
		if _, err := c.Publish(tenant, contextID, body, hdr); err != nil {
			return nil, err
		}
		for deadline := time.Now().Add(c.Timeout); time.Now().Before(deadline); {
			if m, err := sub.NextMsg(20 * time.Millisecond); err == nil {
				return m, nil
			}
			if m, err := out.NextMsg(20 * time.Millisecond); err == nil {
				m.Header.Set("X-Delivered-To", "default")
				return m, nil
			}
		}
		return nil, fmt.Errorf("timeout")
	}
	return c.Request(tenant, contextID, body, hdr)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// summarize renders a reply as the few lines a scenario checks.
func summarize(m *nats.Msg, run string) []string {
	var resp struct {
		ID     json.RawMessage `json:"id"`
		Result *struct {
			Role      string `json:"role"`
			MessageID string `json:"messageId"`
			ContextID string `json:"contextId"`
			Parts     []struct {
				Data map[string]json.RawMessage `json:"data"`
			} `json:"parts"`
		} `json:"result"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    struct {
				Code string `json:"code"`
				Path string `json:"path"`
			} `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return []string{"unreadable reply: " + err.Error()}
	}
	var lines []string
	head := ""
	switch {
	case resp.Error != nil:
		head = fmt.Sprintf("error %s %d", resp.Error.Data.Code, resp.Error.Code)
		if resp.Error.Data.Path != "" {
			head += " at " + resp.Error.Data.Path
		}
		if m.Header.Get("A2A-Error-Code") != resp.Error.Data.Code {
			head += " (A2A-Error-Code header: " + m.Header.Get("A2A-Error-Code") + ")"
		}
	case resp.Result != nil:
		head = "ok"
	default:
		head = "neither result nor error: " + string(m.Data)
	}
	head += " id=" + strings.ReplaceAll(string(resp.ID), "-"+run, "")
	if m.Header.Get("A2A-Replayed") == "true" {
		head += " replayed"
	}
	if m.Header.Get("X-Delivered-To") != "" {
		head += " (on the default reply subject)"
	}
	lines = append(lines, head)
	if resp.Result == nil || len(resp.Result.Parts) == 0 {
		return lines
	}
	data := resp.Result.Parts[0].Data
	if raw, ok := data["a2a.ucp.checkout"]; ok {
		var c envelopes.Checkout
		if err := json.Unmarshal(raw, &c); err != nil {
			return append(lines, "unreadable checkout: "+err.Error())
		}
		lines = append(lines, checkoutLines(&c)...)
	}
	if raw, ok := data["a2a.ucp.order"]; ok {
		var o envelopes.Order
		if err := json.Unmarshal(raw, &o); err != nil {
			return append(lines, "unreadable order: "+err.Error())
		}
		lines = append(lines, fmt.Sprintf("order %s payment %s authorized=%d captured=%d refunded=%d",
			o.Status, o.Payment.Status, o.Payment.Authorized, o.Payment.Captured, o.Payment.Refunded),
			"  totals: "+totalsLine(o.Totals))
	}
	return lines
}

func checkoutLines(c *envelopes.Checkout) []string {
	head := "checkout " + c.Status
	if strings.HasPrefix(c.ID, "chk_") {
		head += " chk_…"
	} else {
		head += " bad id " + c.ID
	}
	if c.Order != nil && strings.HasPrefix(c.Order.ID, "ord_") {
		head += " order=ord_…"
	}
	if c.ContinueURL != "" {
		u := c.ContinueURL
		if i := strings.LastIndex(u, "/"); i >= 0 && strings.HasPrefix(u[i+1:], c.ID) {
			u = u[:i+1] + "<id>"
		}
		head += " continue_url=" + u
	}
	lines := []string{head}
	var li []string
	for _, l := range c.LineItems {
		li = append(li, fmt.Sprintf("%s %s x%d", l.ID, l.Item.ID, l.Quantity))
	}
	if len(li) > 0 {
		lines = append(lines, "  lines: "+strings.Join(li, ", "))
	}
	lines = append(lines, "  totals: "+totalsLine(c.Totals))
	if f := c.Fulfillment; f != nil {
		for _, m := range f.Methods {
			for _, g := range m.Groups {
				var opts []string
				for _, o := range g.Options {
					opts = append(opts, o.ID+"="+totalsLine(o.Totals))
				}
				s := "  shipping: " + strings.Join(opts, " ")
				if g.SelectedOptionID != "" {
					s += " selected=" + g.SelectedOptionID
				}
				lines = append(lines, s)
			}
		}
	}
	if len(c.Discounts.Codes) > 0 {
		lines = append(lines, "  discount codes: "+strings.Join(c.Discounts.Codes, ","))
	}
	if c.Buyer != nil && c.Buyer.Email != "" {
		lines = append(lines, "  buyer: "+c.Buyer.Email)
	}
	var msgs []string
	for _, m := range c.Messages {
		msgs = append(msgs, fmt.Sprintf("%s %s at %s", m.Type, m.Code, m.Path))
	}
	sort.Strings(msgs)
	for _, m := range msgs {
		lines = append(lines, "  message: "+m)
	}
	return lines
}

func totalsLine(ts []envelopes.Total) string {
	var parts []string
	for _, t := range ts {
		if t.Type == "total" && len(ts) == 1 {
			return strconv.FormatInt(t.Amount, 10)
		}
		parts = append(parts, fmt.Sprintf("%s=%d", t.Type, t.Amount))
	}
	return strings.Join(parts, " ")
}

// orderID is the id of the order a reply carries or names, if any.
func orderID(m *nats.Msg) string {
	r, err := envelopes.DecodeReply(m.Data)
	if err != nil {
		return ""
	}
	if o := r.Order(); o != nil {
		return o.ID
	}
	if c := r.Checkout(); c != nil && c.Order != nil {
		return c.Order.ID
	}
	return ""
}
