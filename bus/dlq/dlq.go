// Package dlq is the operator's side of the dead-letter stream (CONTRACT.md section 8):
// list, read, replay and delete dead letters. The worker writes them (package bus,
// through its outbox); `cartwright dlq` drives this package.
package dlq

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/handlers"
)

// DeadLetter is one message of the dead-letter stream: the original request bytes and
// why they could not be handled.
type DeadLetter struct {
	Seq             uint64 // in the dead-letter stream
	Subject         string
	Stored          time.Time
	Code            string
	Error           string
	OriginalSubject string
	OriginalSeq     uint64
	Attempts        int
	FailedAt        time.Time
	MessageID       string
	// Redacted: credential values in Data were replaced (CONTRACT.md section 8).
	// Truncated: Data is the start of the request only.
	Redacted, Truncated bool
	Header              nats.Header
	Data                []byte
}

// Tenant is the tenant the dead letter's subject names ("_" when the original subject
// was unusable).
func (d *DeadLetter) Tenant() string {
	toks := strings.Split(d.Subject, ".")
	if len(toks) >= 4 {
		return toks[2]
	}
	return ""
}

// Filter selects dead letters. Zero fields select everything.
type Filter struct {
	Tenant string
	Code   string
	Since  time.Time
	Seq    uint64
}

// Empty reports whether the filter selects everything.
func (f Filter) Empty() bool { return f == Filter{} }

func (f Filter) match(d *DeadLetter) bool {
	return (f.Code == "" || d.Code == f.Code) &&
		(f.Since.IsZero() || !d.Stored.Before(f.Since)) &&
		(f.Seq == 0 || d.Seq == f.Seq)
}

// ErrReplayRefused is returned by Replay for a dead letter it will not republish: one
// whose original subject is not an inbound subject of the dead letter's own tenant, or
// whose body was truncated. The dead letter stays where it is.
var ErrReplayRefused = errors.New("dlq: replay refused")

// CodeWebhookFailed is the code of an order event whose webhook delivery spent its
// retries (package webhooks): replayed to <prefix>.webhook.<tenant>.<context>.
const CodeWebhookFailed = "webhook_failed"

// DLQ reads, redrives and removes dead letters.
type Queue struct {
	js   jetstream.JetStream
	topo bus.Topology
}

// New works on the dead-letter stream of topo.
func New(js jetstream.JetStream, topo bus.Topology) *Queue { return &Queue{js: js, topo: topo} }

// List returns the dead letters the filter selects, oldest first.
func (q *Queue) List(ctx context.Context, f Filter) ([]DeadLetter, error) {
	if f.Seq != 0 {
		d, err := q.Get(ctx, f.Seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if f.match(d) && (f.Tenant == "" || d.Tenant() == f.Tenant) {
			return []DeadLetter{*d}, nil
		}
		return nil, nil
	}
	subject := q.topo.Prefix + ".dlq.>"
	if f.Tenant != "" {
		subject = q.topo.Prefix + ".dlq." + f.Tenant + ".>"
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}}
	if !f.Since.IsZero() {
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		since := f.Since
		cfg.OptStartTime = &since
	}
	cons, err := q.js.OrderedConsumer(ctx, q.topo.DLQStream(), cfg)
	if err != nil {
		return nil, fmt.Errorf("dead-letter stream: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return nil, err
	}
	left := int(info.NumPending)
	var out []DeadLetter
	for left > 0 {
		batch, err := cons.Fetch(min(left, 500), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			d := fromMsg(meta.Sequence.Stream, m.Subject(), meta.Timestamp, m.Headers(), m.Data())
			if f.match(d) {
				out = append(out, *d)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, err
		}
		if n == 0 {
			break
		}
		left -= n
	}
	return out, nil
}

// Get returns the dead letter at seq.
func (q *Queue) Get(ctx context.Context, seq uint64) (*DeadLetter, error) {
	s, err := q.js.Stream(ctx, q.topo.DLQStream())
	if err != nil {
		return nil, err
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		return nil, err
	}
	return fromMsg(m.Sequence, m.Subject, m.Time, m.Header, m.Data), nil
}

func fromMsg(seq uint64, subject string, stored time.Time, h nats.Header, data []byte) *DeadLetter {
	d := &DeadLetter{Seq: seq, Subject: subject, Stored: stored, Header: h, Data: data}
	d.Code = h.Get(handlers.HdrErrorCode)
	d.Error = h.Get(handlers.HdrError)
	d.OriginalSubject = h.Get(handlers.HdrOriginalSubject)
	d.OriginalSeq, _ = strconv.ParseUint(h.Get(handlers.HdrOriginalSeq), 10, 64)
	d.Attempts, _ = strconv.Atoi(h.Get(handlers.HdrAttempts))
	d.FailedAt, _ = time.Parse(time.RFC3339, h.Get(handlers.HdrFailedAt))
	d.MessageID = h.Get(handlers.HdrMessageID)
	d.Redacted = h.Get(handlers.HdrRedacted) == "true"
	d.Truncated = h.Get(handlers.HdrTruncated) == "true"
	return d
}

// Replayable returns nil when Replay would republish d, else why not (ErrReplayRefused).
// A dead letter is replayed only to an inbound subject of its own tenant (or, for
// webhook_failed, to the webhook redelivery subject of its own tenant): the tenant its
// own subject names (<prefix>.dlq.<tenant>.<context>), whatever its headers say, since
// anyone who may publish to the dead-letter subjects could have written them.
func (q *Queue) Replayable(d *DeadLetter) error {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: dead letter %d: %s", ErrReplayRefused, d.Seq, fmt.Sprintf(format, args...))
	}
	dl := strings.Split(d.Subject, ".")
	if len(dl) != 4 || dl[0] != q.topo.Prefix || dl[1] != "dlq" {
		return refuse("its subject %q is not %s.dlq.<tenant>.<context>", d.Subject, q.topo.Prefix)
	}
	tenant := dl[2]
	if d.Code == CodeWebhookFailed {
		// An order event whose webhook failed goes back to the webhook delivery's own
		// stream, <prefix>.webhook.<tenant>.<context> (docs/webhooks.md), never to A2A_EVT.
		if ws := strings.Split(d.OriginalSubject, "."); len(ws) != 4 || ws[0] != q.topo.Prefix || ws[1] != "webhook" ||
			ws[2] != tenant || strings.ContainsAny(ws[3], "*>") {
			return refuse("original subject %q is not %s.webhook.%s.<context>", d.OriginalSubject, q.topo.Prefix, tenant)
		}
		return nil
	}
	tenantOf, _, usable := handlers.ParseSubject(q.topo.Prefix, d.OriginalSubject)
	if !usable || strings.Count(d.OriginalSubject, ".") != 3 || tenantOf != tenant {
		return refuse("original subject %q is not an inbound subject of its tenant %q (%s.in.%s.<context>)",
			d.OriginalSubject, tenant, q.topo.Prefix, tenant)
	}
	if d.Truncated {
		return refuse("its body was truncated to %d of %s bytes; only the start of the request is kept",
			len(d.Data), d.Header.Get(handlers.HdrOriginalSize))
	}
	return nil
}

// Replay republishes the dead letter's original bytes to its original subject and, once
// JetStream has acknowledged that, removes the dead letter. The republish carries a
// Nats-Msg-Id derived from the dead letter, so replaying the same one twice within the
// duplicate window stores it once; beyond it, the envelope's messageId makes the second
// copy a replay of the first's reply (CONTRACT.md section 6.2). It reports whether
// JetStream took the republish as a duplicate. It also carries A2A-Redrive, so that a
// redriven request that fails again is dead-lettered again, although its messageId
// already was (the dead letter it came from is gone).
//
// A dead letter that is not Replayable is left in place, and the error wraps
// ErrReplayRefused.
func (q *Queue) Replay(ctx context.Context, d *DeadLetter) (duplicate bool, err error) {
	if err := q.Replayable(d); err != nil {
		return false, err
	}
	seq := strconv.FormatUint(d.Seq, 10)
	m := nats.NewMsg(d.OriginalSubject)
	m.Data = d.Data
	m.Header.Set(handlers.HdrMsgID, "dlq-replay:"+seq)
	m.Header.Set(handlers.HdrRedrive, seq)
	for _, k := range []string{handlers.HdrTraceParent, handlers.HdrTraceState} {
		if v := d.Header.Get(k); v != "" {
			m.Header.Set(k, v)
		}
	}
	ack, err := q.js.PublishMsg(ctx, m)
	if err != nil {
		return false, fmt.Errorf("republish dead letter %d to %s: %w", d.Seq, d.OriginalSubject, err)
	}
	if err := q.Delete(ctx, d.Seq); err != nil {
		return ack.Duplicate, err
	}
	return ack.Duplicate, nil
}

// Delete removes the dead letter at seq; one already gone (or never stored) is not an error.
func (q *Queue) Delete(ctx context.Context, seq uint64) error {
	s, err := q.js.Stream(ctx, q.topo.DLQStream())
	if err != nil {
		return err
	}
	derr := s.DeleteMsg(ctx, seq)
	if derr == nil {
		return nil
	}
	// The client reports every refused delete as ErrMsgDeleteUnsuccessful with the server's
	// reason flattened into text, so a missing message cannot be told apart by its error.
	// Reading the message can: its error keeps the server's code.
	if _, err := s.GetMsg(ctx, seq); errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	return fmt.Errorf("delete dead letter %d: %w", seq, derr)
}
