package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/store"
)

// Handler applies envelopes. It is safe for concurrent use by several partition loops:
// it keeps no per-envelope state of its own.
type Handler struct {
	prefix     string
	limits     envelopes.Limits
	maxDeliver int
	timeout    time.Duration
	tenants    map[string]*tenant
	stock      *store.Stock
	// retry is the in-process budget for transient failures, before the envelope is
	// returned to JetStream.
	retry func() backoff.BackOff
	log   *slog.Logger
	// maxPayload bounds a dead letter, clock dates it (see deadletter.go).
	maxPayload int
	clock      func() time.Time
}

// Options tune a Handler beyond its configuration.
type Options struct {
	// Envs are the tenants' providers, built from their configuration by the caller
	// (app.Envs, app.WithEnvs), by tenant name. A tenant missing from it is
	// misconfigured: every provider call fails (Misconfigured).
	Envs map[string]commerce.Env
	// Providers replaces providers of every tenant (tests).
	Providers Providers
	// Tenants replaces providers of one tenant, e.g. the stock that `serve` keeps in
	// JetStream; they win over Providers.
	Tenants map[string]Providers
	// Stock, when set, keeps the stock of every tenant with the built-in inventory (and
	// no inventory in Providers or Tenants) in the store, reserved and released in the
	// batch that completes or cancels the checkout. Without it the built-in inventory
	// counts in memory only (tests).
	Stock *store.Stock
	// RetryBudget bounds the in-process retries of one transient failure (default 2 s),
	// within the envelope timeout. They spare a blip the round trip through JetStream,
	// which holds the context back and makes the partition rewind once it is through.
	RetryBudget time.Duration
	// EnvelopeTimeout bounds the time one envelope may spend in its providers, retries
	// included (default 10 s, and never more than a third of the consumer's ack wait,
	// config.Batch.AckWait). Past it the envelope is returned to JetStream like any other
	// transient failure. It is what lets the worker keep a chunk of envelopes within the
	// ack wait (see bus): it starts an envelope only when one envelope timeout still fits
	// in the chunk's time. Providers must give up when their context ends.
	EnvelopeTimeout time.Duration
	Logger          *slog.Logger

	// MaxPayload is the largest message NATS takes (the connection's MaxPayload; default
	// 1 MiB): a dead letter that would be larger keeps a truncated body.
	MaxPayload int
	// Clock tells when an envelope failed, for its dead letter (default time.Now); the
	// domain takes its time from the stream instead.
	Clock func() time.Time
}

// New builds a Handler for the configuration's tenants.
func New(cfg *config.Config, o Options) *Handler {
	if o.RetryBudget == 0 {
		o.RetryBudget = 2 * time.Second
	}
	if o.EnvelopeTimeout == 0 {
		o.EnvelopeTimeout = 10 * time.Second
	}
	if a := cfg.Batch.AckWait; a > 0 {
		o.EnvelopeTimeout = min(o.EnvelopeTimeout, a/3)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = defaultMaxPayload
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	h := &Handler{
		prefix:     cfg.Prefix,
		limits:     cfg.Limits,
		maxDeliver: cfg.Batch.MaxDeliver,
		timeout:    o.EnvelopeTimeout,
		tenants:    make(map[string]*tenant, len(cfg.Tenants)),
		stock:      o.Stock,
		log:        o.Logger,
		maxPayload: o.MaxPayload,
		clock:      o.Clock,
	}
	for name, t := range cfg.Tenants {
		h.tenants[name] = buildTenant(name, t, cfg, o.Envs, o.Providers, o.Tenants[name])
		h.tenants[name].stock = o.Stock != nil && t.BuiltinInventory() &&
			o.Providers.Inventory == nil && o.Tenants[name].Inventory == nil
	}
	budget := o.RetryBudget
	h.retry = func() backoff.BackOff {
		b := backoff.NewExponentialBackOff()
		b.InitialInterval = 50 * time.Millisecond
		b.MaxInterval = budget / 2
		b.MaxElapsedTime = budget
		return b
	}
	return h
}

// EnvelopeTimeout is the most time Handle spends in one envelope's providers.
func (h *Handler) EnvelopeTimeout() time.Duration { return h.timeout }

// Handle applies one envelope within b (see the package doc for the contract). The
// returned outcome says what it did; for every kind but Retry the envelope is to be
// acknowledged once b is committed.
//
// INVARIANT: the envelope's writes to b are all there or none are. A panic drops all of
// them (Rollback), then dead-letters the envelope; a failure that leaves it unapplied
// (Retry, or dead-lettered to be redriven) drops all but the stock its inventory held or
// released and the demo mock's payment records, which stay on purpose (see the apply call
// below).
func (h *Handler) Handle(ctx context.Context, b *store.Batch, e *Envelope) (out Outcome) {
	defer e.enc.Release()
	mark := b.Mark()
	var req *envelopes.Request
	var replyTo string
	defer func() {
		// A bug while handling one envelope must not stop the partition: dead-letter it.
		if p := recover(); p != nil {
			e.Log(h.log).Error("panic while handling an envelope",
				"panic", p, "stack", string(debug.Stack()))
			// How far the envelope got is unknown: nothing of it stays, its stock holds
			// included, so that its redrive applies it afresh, once. The dead letter and
			// its record under the stream sequence (a redelivery is not dead-lettered
			// again) are written after the rollback.
			b.Rollback(mark)
			err := commerce.E(commerce.KindInternal, commerce.CodeInternalError, "internal error")
			err.Err = fmt.Errorf("panic: %v", p)
			out = h.deadLetter(b, e, req, replyTo, err)
		}
		if req != nil {
			out.MessageID = req.MessageID
		}
	}()
	if !e.Usable {
		return h.deadLetter(b, e, nil, "", commerce.E(commerce.KindMalformed, commerce.CodeInvalidEnvelope,
			"subject %q does not name a tenant and context", e.Subject))
	}
	req, perr := parse(e.Data, e.Tenant, e.Context, h.limits)
	if req != nil {
		e.MessageID = req.MessageID
	}
	replyTo, rerr := h.replySubject(e)
	if rerr != nil {
		return h.reject(b, e, req, h.defaultReplySubject(e), rerr)
	}
	if perr != nil && commerce.KindOf(perr) == commerce.KindMalformed {
		return h.deadLetter(b, e, req, replyTo, commerce.AsError(perr))
	}
	t := h.tenants[e.Tenant]
	if t == nil {
		return h.reject(b, e, req, replyTo, commerce.E(commerce.KindInvalid, commerce.CodeUnknownTenant,
			"tenant %q is not configured", e.Tenant))
	}

	// Idempotency: the first envelope with this messageId decides; later ones get its reply.
	rec, err := b.Record(e.Tenant, req.MessageID)
	if err != nil {
		return Outcome{Kind: Retry, Err: commerce.Transient("store read", err)}
	}
	if rec != nil {
		if rec.Seq == e.Seq {
			return Outcome{Kind: Redelivered, Code: rec.Code}
		}
		if rec.Fingerprint != req.Fingerprint {
			return h.reject(b, e, req, replyTo, commerce.E(commerce.KindConflict, commerce.CodeIdempotencyConflict,
				"messageId %q was already used for different content", req.MessageID))
		}
		h.queueReply(b, e, req, replyTo, rec, true, framed{})
		return Outcome{Kind: Replayed, Code: rec.Code}
	}
	// A delivery that was dead-lettered or refused has its outcome under its stream
	// sequence, not its messageId: a redelivery of it (a rewind can overtake its ack) must
	// not be applied now. Most envelopes have no such record, and the store answers that
	// from its set of the sequences that have one, without a read (store/seqrecords.go).
	if done, out := h.answered(b, e); done {
		return out
	}
	if perr != nil {
		return h.record(b, e, req, replyTo, nil, perr)
	}
	if ce := redactedCredential(e, req); ce != nil {
		return h.reject(b, e, req, replyTo, ce)
	}
	if o, stale := h.stale(b, e, req, replyTo); stale {
		return o
	}

	action := string(req.Command.Action())
	res, err := h.apply(ctx, b, t, e, req)
	if err != nil && (commerce.KindOf(err) == commerce.KindTransient || commerce.KindOf(err) == commerce.KindInternal) {
		// Not applied: it goes back to JetStream or to the dead letters. Only the stock
		// the inventory reserved or released on the way stays: a completion whose
		// payment failed keeps its hold, so that the retry or redrive of the same
		// checkout (same payment idempotency key) finds its units, and the hold goes
		// when the checkout is canceled or expires; a release is of a checkout that
		// expired, which stays expired. So do the mock payment handler's records, as a
		// processor keeps what it did before a later step failed: the retry with the
		// same idempotency key gets the same answer.
		b.RollbackExceptStock(mark)
	}
	if err != nil && commerce.KindOf(err) == commerce.KindTransient {
		if e.Delivered < h.maxDeliver {
			return Outcome{Kind: Retry, Action: action, Err: err}
		}
		// The retry budget is spent: dead-letter it, so an operator can redrive it once
		// the provider works again. Nothing is recorded, so the redrive is applied afresh.
		o := h.deadLetter(b, e, req, replyTo, commerce.AsError(err))
		o.Action = action
		return o
	}
	if err != nil && commerce.KindOf(err) == commerce.KindInternal {
		e.Log(h.log).Error("internal error while handling an envelope", "err", err)
		o := h.deadLetter(b, e, req, replyTo, commerce.AsError(err))
		o.Action = action
		return o
	}
	if res.Changed {
		b.PutState(e.Tenant, e.Context, res.State)
		for i, ev := range res.Events {
			h.queueEvent(b, e, req, i, ev)
		}
	}
	out = h.record(b, e, req, replyTo, &res, err)
	out.Action = action
	return out
}

// apply runs the command on the context's state as of this batch, retrying transient
// provider failures with backoff within the budget.
func (h *Handler) apply(ctx context.Context, b *store.Batch, t *tenant, e *Envelope, req *envelopes.Request) (commerce.Result, error) {
	env := h.envFor(t, b)
	env.Context = e.Context
	env.Now = e.Time
	env.Seed = e.Tenant + ":" + req.MessageID
	st, err := b.State(e.Tenant, e.Context)
	if err != nil {
		return commerce.Result{}, commerce.Transient("store read", err)
	}
	lctx, cancel := withLazyDeadline(ctx, time.Now().Add(h.timeout))
	defer cancel()
	ctx = lctx
	var res commerce.Result
	op := func() error {
		var err error
		res, err = commerce.Apply(ctx, env, st, req.Command)
		if err != nil && ctx.Err() != nil {
			// Out of time: whatever the provider made of the cancellation, it is not the
			// envelope's fault.
			err = commerce.Transient("handling the envelope", fmt.Errorf("took longer than %s: %w", h.timeout, err))
		}
		if err != nil && commerce.KindOf(err) != commerce.KindTransient {
			return backoff.Permanent(err)
		}
		return err
	}
	// Most envelopes succeed or fail for good at once: build the backoff only for a
	// transient failure.
	if err = op(); err != nil && commerce.KindOf(err) == commerce.KindTransient {
		err = backoff.Retry(op, backoff.WithContext(h.retry(), ctx))
	}
	var perm *backoff.PermanentError
	if errors.As(err, &perm) {
		err = perm.Err
	}
	if err != nil && ctx.Err() != nil && commerce.KindOf(err) != commerce.KindTransient {
		err = commerce.Transient("handling the envelope", fmt.Errorf("took longer than %s: %w", h.timeout, err))
	}
	if err == nil && res.Changed {
		h.saveAddress(ctx, env, e, st.Checkout, res.State.Checkout)
	}
	return res, err
}

// saveAddress gives the tenant's address book the address the envelope gave checkout c
// to keep (commerce.Learned), unless c had it already before (prev). It waits within the
// envelope's deadline (ctx). A failure is the book's to count; it is logged here and the
// envelope goes on: the checkout does not depend on the book.
func (h *Handler) saveAddress(ctx context.Context, env commerce.Env, e *Envelope, prev, c *commerce.Checkout) {
	book, ok := env.Addresses.(AddressSaver)
	if !ok {
		return
	}
	email, d, ok := commerce.Learned(c)
	if !ok {
		return
	}
	if pe, pd, had := commerce.Learned(prev); had && pd.ID == d.ID && strings.EqualFold(pe, email) {
		return
	}
	if err := book.Save(ctx, email, d); err != nil {
		e.Log(h.log).Warn("the buyer's address was not kept in the address book", "err", err)
	}
}

// record finishes an envelope that gets a reply to remember: it stores the idempotency
// record and queues the reply.
func (h *Handler) record(b *store.Batch, e *Envelope, req *envelopes.Request, replyTo string, res *commerce.Result, err error) Outcome {
	var ce *commerce.Error
	if err != nil {
		ce = withPath(commerce.AsError(err), req)
	}
	rec := h.answer(b, e, req, replyTo, true, res, ce)
	return Outcome{Kind: Replied, Code: rec.Code}
}

// reject answers with an error that is not remembered under the messageId (a conflict,
// a forbidden reply subject, an unknown tenant): only this delivery is marked done.
func (h *Handler) reject(b *store.Batch, e *Envelope, req *envelopes.Request, replyTo string, ce *commerce.Error) Outcome {
	if done, out := h.answered(b, e); done {
		return out
	}
	h.answer(b, e, req, replyTo, false, nil, ce)
	return Outcome{Kind: Replied, Code: ce.Code}
}

// answer builds the record of the envelope's outcome (the error ce, or else the result
// res), keeps it, and queues its reply to replyTo unless that is "". A remembered record
// goes under the messageId with the request's fingerprint, and every copy of the request
// is answered with it; any other goes under the stream sequence, for this delivery only.
// REQUIRES: req is not nil when remember is set or ce is nil.
func (h *Handler) answer(b *store.Batch, e *Envelope, req *envelopes.Request, replyTo string, remember bool, res *commerce.Result, ce *commerce.Error) *store.Record {
	msgID := ""
	if req != nil {
		msgID = req.MessageID
	}
	rec := &store.Record{Seq: e.Seq, At: e.Time}
	var f framed
	switch {
	case ce != nil:
		rec.IsError, rec.Code = true, ce.Code
		rec.Body = envelopes.ErrorBody(ce, msgID)
	case replyTo != "":
		// The reply carries the record's body: both are made in one piece.
		f.prefix, f.suffix = envelopes.WrapFrame(req.ID, false)
		f.msg, rec.Body = e.enc.FramedResult(f.prefix, f.suffix, msgID, req.ContextID, res.Checkout, res.Order, h.paymentHandlers(e.Tenant))
	default:
		rec.Body = e.enc.ResultBody(msgID, req.ContextID, res.Checkout, res.Order, h.paymentHandlers(e.Tenant))
	}
	if remember {
		rec.Fingerprint = req.Fingerprint
		b.PutRecord(e.Tenant, msgID, rec)
	} else {
		b.PutSeqRecord(e.Seq, rec)
	}
	if replyTo != "" {
		h.queueReply(b, e, req, replyTo, rec, false, f)
	}
	return rec
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// withPath returns ce with a path relative to the command's data object (as the domain
// writes it) made absolute: a JSONPath into the request.
func withPath(ce *commerce.Error, req *envelopes.Request) *commerce.Error {
	if ce.Path == "" || strings.HasPrefix(ce.Path, "$") {
		return ce
	}
	c := *ce
	root := "$.parts["
	if req.JSONRPC {
		root = "$.params.message.parts["
	}
	sep := "."
	if strings.HasPrefix(c.Path, "[") {
		sep = ""
	}
	c.Path = root + strconv.Itoa(req.DataPart) + "].data" + sep + c.Path
	return &c
}

// answered reports whether this very delivery (stream sequence) already has an outcome
// that is not remembered under its messageId: a redelivery of an envelope that was
// rejected or dead-lettered. Only the paths that record such outcomes ask, so that the
// common path (a well-formed envelope) reads one record, not two.
func (h *Handler) answered(b *store.Batch, e *Envelope) (bool, Outcome) {
	rec, err := b.SeqRecord(e.Seq)
	if err != nil {
		return true, Outcome{Kind: Retry, Err: commerce.Transient("store read", err)}
	}
	if rec != nil {
		return true, Outcome{Kind: Redelivered, Code: rec.Code}
	}
	return false, Outcome{}
}
