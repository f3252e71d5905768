package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/testenv"
)

// model applies the stored envelopes, in stream order, to the pure domain: what the
// worker's state must be.
type model struct {
	env     commerce.Env
	limits  envelopes.Limits
	seen    map[string]bool
	states  map[string]commerce.State
	events  map[string]int // "type id" → count
	applied int
	// trail is, per context, what the model made of each envelope: for a diagnosis.
	trail map[string][]string
}

func newModel(cfg *config.Config) *model {
	env, err := buildEnv(cfg.Tenants["demo"], cfg)
	if err != nil {
		panic(err)
	}
	return &model{env: env, limits: cfg.Limits, seen: map[string]bool{}, states: map[string]commerce.State{},
		events: map[string]int{}, trail: map[string][]string{}}
}

func eventKey(ev commerce.Event) string {
	switch {
	case ev.Checkout != nil:
		return string(ev.Type) + " " + ev.Checkout.ID
	case ev.Order != nil:
		return string(ev.Type) + " " + ev.Order.ID
	}
	return string(ev.Type)
}

// apply applies one stored envelope and reports whether it was malformed.
func (m *model) apply(t *testing.T, s stored) (malformed bool) {
	toks := strings.Split(s.Subject, ".") // a2a.in.<partition>.<tenant>.<context>
	tenant, ctx := toks[3], toks[4]
	req, err := envelopes.Parse(s.Data, tenant, ctx, m.limits)
	if err != nil && commerce.KindOf(err) == commerce.KindMalformed {
		return true
	}
	if req == nil || req.MessageID == "" || m.seen[req.MessageID] {
		return false
	}
	m.seen[req.MessageID] = true
	if err != nil {
		return false
	}
	env := m.env
	env.Context, env.Now, env.Seed = ctx, s.Time, tenant+":"+req.MessageID
	var res commerce.Result
	for attempt := 0; attempt < 10; attempt++ {
		res, err = commerce.Apply(context.Background(), env, m.states[ctx], req.Command)
		if err == nil || commerce.KindOf(err) != commerce.KindTransient {
			break
		}
	}
	outcome := "ok"
	if err != nil {
		outcome = commerce.AsError(err).Code
	} else if res.Checkout != nil {
		outcome = string(res.Checkout.Status)
	}
	m.trail[ctx] = append(m.trail[ctx], fmt.Sprintf("seq %d %s %s → %s", s.Seq, req.MessageID, req.Command.Action(), outcome))
	if res.Changed {
		m.states[ctx] = res.State
		for _, ev := range res.Events {
			m.events[eventKey(ev)]++
		}
		m.applied++
	}
	return false
}

func check(t *testing.T, c *testenv.Client, payURL string, main, conflicts []envelope, conflictReplies []*nats.Msg) report {
	t.Helper()
	js := c.JetStream()
	in := collect(t, js, "A2A_IN", 0)
	out := collect(t, js, "A2A_OUT", 0)
	dlq := collect(t, js, "A2A_DLQ", 0)
	evt := collect(t, js, "A2A_EVT", 0)
	rep := report{envelopes: len(main) + len(conflicts), stored: len(in), deadLetters: len(dlq), replies: len(out), events: map[string]int{}}

	cfg := chaosConfig(payURL)
	m := newModel(cfg)
	malformedSeqs := map[uint64]bool{}
	for _, s := range in {
		if m.apply(t, s) {
			malformedSeqs[s.Seq] = true
		}
	}
	ids := map[string]bool{}
	for _, e := range main {
		switch e.kind {
		case "republish":
			rep.republished++
		case "malformed":
			rep.malformed++
		}
		if e.messageID != "" {
			ids[e.messageID] = true
		}
	}
	rep.distinctIDs = len(ids)
	rep.conflicts = len(conflicts)

	// Exactly one outcome stored per messageId; one dead letter and one reply per
	// malformed envelope stored. A republished envelope gets the first reply again, marked
	// A2A-Replayed: A2A_OUT's duplicate window drops it when it comes within two minutes
	// of the first, and stores it when later (a long run). An envelope whose chunk was
	// committed (and its changes in the changelog) but whose reply was not yet published
	// when its worker died is answered from its idempotency record when it comes back:
	// its only stored reply is then marked replayed. So: one reply not replayed at most,
	// at least one reply, and every reply of a messageId the same but for the JSON-RPC id.
	perID := map[string]int{}
	replays := map[string]int{}
	bodies := map[string][]byte{}
	perSeqReply := map[string]int{}
	for _, r := range out {
		if r.Header.Get("A2A-Status") == "error" {
			rep.errorReplies++
		}
		if id := r.Header.Get("A2A-Message-Id"); id != "" {
			if first, ok := bodies[id]; ok && !sameReply(first, r.Data) {
				t.Errorf("messageId %s: two different replies stored:\n%s\n%s", id, first, r.Data)
			} else if !ok {
				bodies[id] = r.Data
			}
		}
		if r.Header.Get("A2A-Replayed") == "true" {
			rep.replayed++
			replays[r.Header.Get("A2A-Message-Id")]++
			continue
		}
		if id := r.Header.Get("A2A-Message-Id"); id != "" {
			perID[id]++
		} else {
			perSeqReply[r.Header.Get("Nats-Msg-Id")]++
		}
	}
	for id := range ids {
		if perID[id] > 1 || perID[id]+replays[id] == 0 {
			t.Errorf("messageId %s: %d replies stored (and %d replays), want 1", id, perID[id], replays[id])
		}
	}
	perSeqDLQ := map[uint64]int{}
	for _, d := range dlq {
		seq, _ := strconv.ParseUint(d.Header.Get("A2A-Original-Seq"), 10, 64)
		perSeqDLQ[seq]++
	}
	for seq := range malformedSeqs {
		if perSeqDLQ[seq] != 1 {
			t.Errorf("malformed envelope %d: %d dead letters, want 1", seq, perSeqDLQ[seq])
		}
		if n := perSeqReply[fmt.Sprintf("%d:reply", seq)]; n != 1 {
			t.Errorf("malformed envelope %d: %d error replies, want 1", seq, n)
		}
	}
	if len(dlq) != len(malformedSeqs) {
		t.Errorf("%d dead letters for %d malformed envelopes stored", len(dlq), len(malformedSeqs))
	}

	// Conflicts are refused.
	for i, r := range conflictReplies {
		if r == nil {
			continue
		}
		if code := r.Header.Get("A2A-Error-Code"); code != "idempotency_conflict" {
			t.Errorf("conflicting %s: %q, want idempotency_conflict", conflicts[i].messageID, code)
		}
	}

	// Every event once, and exactly the events the model says.
	got := map[string]int{}
	for _, e := range evt {
		var ev envelopes.Event
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			t.Fatalf("event %d: %v", e.Seq, err)
		}
		id := ""
		if ev.Data.Checkout != nil {
			id = ev.Data.Checkout.ID
		} else if ev.Data.Order != nil {
			id = ev.Data.Order.ID
		}
		got[ev.Type+" "+id]++
		rep.events[ev.Type]++
	}
	for k, n := range m.events {
		if got[k] != n {
			t.Errorf("event %s: published %d times, want %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if m.events[k] == 0 {
			t.Errorf("event %s published %d times, but it did not happen", k, n)
		}
	}

	// Every context's final state is the model's.
	for ctx, st := range m.states {
		if st.Checkout == nil {
			continue
		}
		want, err := envelopes.EncodeCheckout(st.Checkout)
		if err != nil {
			t.Fatal(err)
		}
		r := c.Send("demo", ctx, ctx+"-final", map[string]any{"action": "get_checkout"})
		reply, err := envelopes.DecodeReply(r.Data)
		if err != nil || reply.Checkout() == nil {
			t.Errorf("%s: final read: %v %s", ctx, err, r.Data)
			continue
		}
		gotJSON, _ := json.Marshal(reply.Checkout())
		if !jsonEqual(gotJSON, want) {
			t.Errorf("%s: the worker's checkout differs from the model's:\nworker %s\nmodel  %s\n%s", ctx, gotJSON, want,
				diagnose(m.trail[ctx], out))
		}
		switch st.Checkout.Status {
		case commerce.StatusCompleted:
			rep.completed++
		case commerce.StatusCanceled:
			rep.canceled++
		default:
			rep.open++
		}
	}
	if m.applied == 0 {
		t.Error("the model applied nothing")
	}
	// What the model holds of each counted item: the worker's store must hold the same.
	rep.held = map[string]int64{}
	for _, it := range cfg.Tenants["demo"].Builtin.Items {
		if it.Stock == nil {
			continue
		}
		n, _, err := m.env.Inventory.Available(context.Background(), it.ID)
		if err != nil {
			t.Fatal(err)
		}
		rep.held[it.ID] = *it.Stock - n
	}
	return rep
}

// diagnose lines up the model's trail of a context with the worker's replies.
func diagnose(trail []string, out []stored) string {
	replies := map[string]string{}
	for _, r := range out {
		id := r.Header.Get("A2A-Message-Id")
		what := r.Header.Get("A2A-Status") + " " + r.Header.Get("A2A-Error-Code")
		if rep, err := envelopes.DecodeReply(r.Data); err == nil && rep.Checkout() != nil {
			what += " " + rep.Checkout().Status + " " + rep.Checkout().ID
		}
		replies[id] = what
	}
	var b strings.Builder
	for _, line := range trail {
		f := strings.Fields(line)
		fmt.Fprintf(&b, "  model: %-60s worker: %s\n", line, replies[f[2]])
	}
	return b.String()
}

// sameReply reports whether two JSON-RPC replies are the same but for their id.
func sameReply(a, b []byte) bool {
	var x, y map[string]any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	delete(x, "id")
	delete(y, "id")
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
