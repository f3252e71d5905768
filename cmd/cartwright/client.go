package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for the reply, retries included")
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

// attempts is how many times request publishes the envelope within its timeout.
const attempts = 3

// request publishes body to <prefix>.in.<tenant>.<context>, with A2A-Reply-To set to an
// inbox subscribed first, and waits at most c.timeout for the reply to messageID ("" when
// the body has none the worker could read).
//
// The inbox is no secret (A2A_IN stores it) and any tenant's envelope may name it as its
// reply subject: only a message whose A2A-Tenant and A2A-Message-Id name this request is
// taken as the reply (see answers); anything else is skipped.
//
// The timeout is cut into attempts equal slots. When a slot ends with no reply, or its
// publish failed (no stream yet, no ack), the same bytes are published again: the worker
// answers a repeated messageId with its first reply (CONTRACT.md section 6), so a retry
// never applies a command twice. The inbox stays subscribed throughout, so the reply to an
// earlier attempt is as good as the reply to the last one. request sets no Nats-Msg-Id:
// JetStream would drop the retry inside its duplicate window, and the retry would get no
// reply of its own (section 2).
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
	var pubErr error
	for i := range attempts {
		slot, cancelSlot := ctx, context.CancelFunc(func() {})
		if i < attempts-1 { // the last attempt has what is left
			slot, cancelSlot = context.WithTimeout(ctx, c.timeout/attempts)
		}
		m := nats.NewMsg(subject)
		m.Data = body
		m.Header.Set("A2A-Reply-To", inbox)
		// The slots are the retries: nats.go's own, on "no responders", would spend them.
		if _, err := js.PublishMsg(slot, m, jetstream.WithRetryAttempts(0)); err == nil {
			pubErr = nil
		} else if pubErr == nil || !errors.Is(err, context.DeadlineExceeded) {
			// Keep the reason an earlier attempt gave (no stream) over the bare timeout
			// of a later one.
			pubErr = fmt.Errorf("publish to %s: %w", subject, err)
		}
		// Wait out the slot even when the publish failed: an earlier attempt may yet be
		// answered, and retrying at once would only fail the same way.
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
	err = fmt.Errorf("published to %s, but no reply within %s (is a worker running?)", subject, c.timeout)
	if pubErr != nil {
		err = fmt.Errorf("no reply within %s: %w", c.timeout, pubErr)
	}
	return nil, &exitError{code: exitNoReply, err: err}
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
