package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/envelopes"
)

// clientFlags are what every client command takes.
type clientFlags struct {
	conn            connFlags
	tenant, context string
	prefix          string
	timeout         time.Duration
}

func (c *clientFlags) register(cmd *cobra.Command) {
	c.registerOn(cmd.Flags(), "context id: the conversation the checkout belongs to (required)")
}

func (c *clientFlags) registerOn(fs *pflag.FlagSet, contextHelp string) {
	fs.StringVar(&c.tenant, "tenant", "", "tenant (required)")
	fs.StringVar(&c.context, "context", "", contextHelp)
	fs.StringVar(&c.prefix, "prefix", "a2a", "subject prefix")
	fs.DurationVar(&c.timeout, "timeout", defaultTimeout,
		"how long to wait for the reply; the default covers the worker's retries of a failing provider")
	c.conn.register(fs, "NATS server URL (default nats://127.0.0.1:4222; also NATS_URL)")
}

// subjectToken is what a tenant or a context may be: one NATS token (CONTRACT.md section 2).
var subjectToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// check reports a usage error for a missing or malformed tenant or context, before
// anything is published to a subject they would have bent out of shape.
func (c *clientFlags) check() error {
	if c.tenant == "" || c.context == "" {
		return usageErr("--tenant and --context are required")
	}
	for _, f := range []struct{ name, v string }{{"--tenant", c.tenant}, {"--context", c.context}} {
		if !subjectToken.MatchString(f.v) {
			return usageErr("%s %q: want 1 to 64 of A-Z a-z 0-9 _ -", f.name, f.v)
		}
	}
	if c.timeout <= 0 {
		return usageErr("--timeout must be positive")
	}
	return nil
}

// defaultTimeout is the client commands' --timeout. It covers the worker's retries of a
// transient failure with its default settings (docs/contract.md, "Operator notes: retries
// and deadlines"): batch.max_deliver (5) tries of at most the envelope timeout (10 s)
// each, 0.5 + 1 + 2 + 4 s apart, is 57.5 s before the worker answers
// temporarily_unavailable; the rest leaves room for the pulls between the tries and for
// the reply. A provider that fails at once (connection refused, 503) is through in about
// 20 s.
const defaultTimeout = 70 * time.Second

// attempts is how many times request tries to have the envelope stored within its
// timeout.
const attempts = 3

// request publishes body to <prefix>.in.<tenant>.<context>, with A2A-Reply-To set to an
// inbox subscribed first, and waits at most c.timeout for the reply to messageID ("" when
// the body has none the worker could read).
//
// The inbox is no secret (A2A_IN stores it) and any tenant's envelope may name it as its
// reply subject: only a message whose A2A-Tenant and A2A-Message-Id name this request is
// taken as the reply (see answers); anything else is skipped.
//
// INVARIANT: one request puts at most one copy of the envelope in A2A_IN. Every copy is
// handled on its own: while the worker retries a failing provider, a second copy would
// wait behind the first and then go through the whole retry budget again. So request
// publishes again only while JetStream has acknowledged no publish (no stream yet, no
// ack), once per slot of c.timeout/attempts, and then waits for the reply for what is
// left of the timeout. All its publishes carry one Nats-Msg-Id, new for each request:
// JetStream drops a retry whose first publish was stored though its ack was lost, and
// the reply to that one comes to the same inbox. CONTRACT.md section 2 asks publishers
// that wait for a reply for no Nats-Msg-Id, or one per attempt, because a dropped
// publish gets no reply of its own; here nothing but such a retry is ever dropped, and
// a later command with the same --message-id has an id of its own and reaches the worker.
func request(ctx context.Context, c *clientFlags, messageID string, body []byte) (*nats.Msg, error) {
	nc, err := clientConnect(&c.conn)
	if err != nil {
		return nil, &exitError{code: exitNoReply, err: notSent{fmt.Errorf("connect to NATS: %w", err)}}
	}
	defer nc.Close()
	inbox := nc.NewInbox() // under --inbox-prefix when one is set
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, &exitError{code: exitNoReply, err: notSent{err}}
	}
	defer sub.Unsubscribe()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, &exitError{code: exitFailure, err: notSent{err}}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	subject := c.prefix + ".in." + c.tenant + "." + c.context
	m := nats.NewMsg(subject)
	m.Data = body
	m.Header.Set("A2A-Reply-To", inbox)
	m.Header.Set(jetstream.MsgIDHeader, newID("cli-", 16))
	var ack *jetstream.PubAck
	var pubErr error
	for i := range attempts {
		slot, cancelSlot := ctx, context.CancelFunc(func() {})
		if i < attempts-1 { // the last attempt has what is left
			slot, cancelSlot = context.WithTimeout(ctx, c.timeout/attempts)
		}
		// The slots are the retries: nats.go's own, on "no responders", would spend them.
		a, err := js.PublishMsg(slot, m, jetstream.WithRetryAttempts(0))
		if err == nil {
			cancelSlot()
			ack = a
			break
		}
		if pubErr == nil || !errors.Is(err, context.DeadlineExceeded) {
			// Keep the reason an earlier attempt gave (no stream) over the bare timeout
			// of a later one.
			pubErr = fmt.Errorf("publish to %s: %w", subject, err)
		}
		// Wait out the slot even when the publish failed: an earlier attempt may have
		// been stored and be answered, and retrying at once would only fail the same way.
		reply, err := nextAnswer(slot, sub, c.tenant, messageID)
		cancelSlot()
		if err == nil {
			return reply, nil
		}
		if ctx.Err() != nil {
			break // the whole budget is spent
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			return nil, &exitError{code: exitNoReply, err: err} // the connection is gone
		}
	}
	if ack == nil {
		return nil, &exitError{code: exitNoReply, err: fmt.Errorf("no reply within %s: %w", c.timeout, pubErr)}
	}
	reply, err := nextAnswer(ctx, sub, c.tenant, messageID)
	if err == nil {
		return reply, nil
	}
	if ctx.Err() == nil {
		return nil, &exitError{code: exitNoReply, err: err} // the connection is gone
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	return nil, &exitError{code: exitNoReply, err: fmt.Errorf("published to %s (%s seq %d), but no reply within %s: %s",
		subject, ack.Stream, ack.Sequence, c.timeout, whereIs(dctx, js, ack))}
}

// nextAnswer returns the next message on sub that answers tenant's messageID.
func nextAnswer(ctx context.Context, sub *nats.Subscription, tenant, messageID string) (*nats.Msg, error) {
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil || answers(m, tenant, messageID) {
			return m, err
		}
	}
}

// answers reports whether m is the reply to tenant's request messageID (CONTRACT.md
// section 2). The tenant must match: the worker sets it from the subject, so no other
// tenant's envelope can produce it. The messageId must match when both sides know one: a
// body the worker could not read gets a reply that names none.
func answers(m *nats.Msg, tenant, messageID string) bool {
	if m.Header.Get("A2A-Tenant") != tenant {
		return false
	}
	got := m.Header.Get("A2A-Message-Id")
	return got == "" || messageID == "" || got == messageID
}

// messageIDOf is the messageId the worker reads in body, or "" when it reads none.
func messageIDOf(body []byte) string {
	// No size limit here: the worker's may be larger than the default.
	env, _ := envelopes.Decode(body, envelopes.Limits{MaxEnvelopeBytes: len(body) + 1})
	if env == nil {
		return ""
	}
	return env.MessageID
}

// notSent marks an error that came before anything was published.
type notSent struct{ error }

func (e notSent) Unwrap() error { return e.error }

// whereIs says, for an envelope JetStream stored (ack) but nobody answered in time, how
// far the worker got with it, from its partition's durable consumer. It never claims
// that no worker runs while one holds the envelope: a failing provider is retried for up
// to about a minute. A client that may not read the JetStream API (a tenant's agent on a
// shared NATS) gets what is true either way.
func whereIs(ctx context.Context, js jetstream.JetStream, ack *jetstream.PubAck) string {
	const unknown = "a worker may still be retrying it (a failing provider is retried for up to " +
		"about a minute, then answered temporarily_unavailable), or none is running"
	s, err := js.Stream(ctx, ack.Stream)
	if err != nil {
		return unknown
	}
	stored, err := s.GetMsg(ctx, ack.Sequence)
	if err != nil {
		return unknown
	}
	// The stream stores <prefix>.in.<partition>.<tenant>.<context> (bus.Topology).
	tokens := strings.Split(stored.Subject, ".")
	p, err := strconv.Atoi(tokens[max(len(tokens)-3, 0)])
	if err != nil || len(tokens) < 4 {
		return unknown
	}
	cons, err := s.Consumer(ctx, bus.Topology{}.ConsumerName(p))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return "no worker has consumed its partition yet (is a worker running?)"
	}
	if err != nil {
		return unknown
	}
	info := cons.CachedInfo()
	switch {
	case info.AckFloor.Stream >= ack.Sequence:
		return "the worker has answered it, but the reply did not reach this client"
	case info.Delivered.Stream >= ack.Sequence:
		return "the worker has it and is not done with it: it retries a failing provider for up to " +
			"about a minute, then answers temporarily_unavailable (or the envelope waits behind an " +
			"earlier one of its context)"
	case info.NumWaiting > 0:
		return "a worker is fetching its partition, but has not got to it yet"
	default:
		return "no worker has fetched it yet (is a worker running?)"
	}
}
