package webhooks

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/bus/ensure"
	"github.com/cartwright-dev/cartwright/config"
)

// Options are what the delivery needs of the rest of the process.
type Options struct {
	// Dial opens the connection the Router's subscriber consumes on. It must be a
	// connection of its own: it is drained once the Router has stopped.
	Dial func() (*nats.Conn, error)
	// BusinessProfile is tenant's business profile URL, sent as UCP-Agent so that the
	// platform finds the key that signed (default: none sent).
	BusinessProfile func(tenant string) string
	// Registerer receives the metrics (default: a registry of its own).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// Client, when set, replaces the HTTP client of profile fetches and deliveries
	// (its allow-list and timeouts are then its own).
	Client *http.Client
	// OrderFor converts an order, as the REST binding shows it in UCP 2026-04-08, to the
	// shape of version, the ucp.version of the platform's profile
	// (httpapi.OrderForVersion). Default: the order as it is, whatever the version.
	OrderFor func(version string, order []byte) []byte
}

// Service delivers order events to platforms' webhooks: a Watermill Router whose
// subscriber is a durable JetStream consumer on A2A_EVT (the order events only) and on
// <PREFIX>_WEBHOOK (what `cartwright dlq replay` sends back), with Retry (exponential
// backoff), Recoverer and PoisonQueue (to A2A_DLQ, webhook_failed) around the handler.
// The consumers are durable and shared: a restart resumes where the last ack was, and
// the workers of a group share the events, each delivered by one of them.
type Service struct {
	cfg      config.Webhooks
	prefix   string
	replicas int
	js       jetstream.JetStream
	agents   jetstream.KeyValue
	profiles *profiles
	client   *http.Client
	key      *ecdsa.PrivateKey
	metrics  *metrics
	o        Options
}

// ConsumerName is the durable consumer the Router reads A2A_EVT and <PREFIX>_WEBHOOK
// with.
const ConsumerName = "cartwright-webhooks"

// New provisions what the delivery keeps in JetStream (the bucket of platforms and the
// redelivery stream) over nc, and loads the signing key. Run starts the delivery.
func New(ctx context.Context, cfg *config.Config, nc *nats.Conn, o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.BusinessProfile == nil {
		o.BusinessProfile = func(string) string { return "" }
	}
	if o.OrderFor == nil {
		o.OrderFor = func(_ string, order []byte) []byte { return order }
	}
	w := cfg.Webhooks
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	key, err := w.SigningKey()
	if err != nil {
		return nil, fmt.Errorf("webhooks.signing_key_file: %w", err)
	}
	agents, err := openAgents(ctx, js, cfg.Prefix, cfg.Replicas)
	if err != nil {
		return nil, fmt.Errorf("webhooks: bucket %s: %w", BucketName(cfg.Prefix), err)
	}
	_, err = ensure.Stream(ctx, js, jetstream.StreamConfig{
		Name:        redeliveryStream(cfg.Prefix),
		Description: "cartwright: order events sent back to their webhook by cartwright dlq replay",
		Subjects:    []string{cfg.Prefix + ".webhook.>"},
		Storage:     jetstream.FileStorage,
		Replicas:    max(cfg.Replicas, 1),
		MaxAge:      7 * 24 * time.Hour,
		Duplicates:  2 * time.Minute,
	}, boundedBytes)
	if err != nil {
		return nil, fmt.Errorf("webhooks: stream %s: %w", redeliveryStream(cfg.Prefix), err)
	}
	pol := newPolicy(w.AllowHosts)
	client := o.Client
	if client == nil {
		client = newClient(pol, w.Timeout)
	}
	return &Service{
		cfg: w, prefix: cfg.Prefix, replicas: cfg.Replicas, js: js, agents: agents,
		profiles: &profiles{client: client, policy: pol, ttl: w.ProfileTTL, now: time.Now, cache: map[string]cached{}},
		client:   client, key: key, metrics: newMetrics(o.Registerer), o: o,
	}, nil
}

// boundedBytes is the size of the bucket and of the redelivery stream on an account whose
// JetStream limits require a size on every stream (elsewhere they are unbounded): room
// for some 50 000 remembered checkouts.
const boundedBytes = 8 << 20

func redeliveryStream(prefix string) string { return strings.ToUpper(prefix) + "_WEBHOOK" }

func (s *Service) businessProfile(tenant string) string { return s.o.BusinessProfile(tenant) }

// Remember records that the checkout of tenant's context was made by the platform whose
// profile is at profileURL (the UCP-Agent header's profile), so that its order's events
// go to that profile's webhook_url. The REST binding calls it when a checkout session is
// created or completed, before the envelope is published. A URL the allow-list refuses
// is not remembered.
func (s *Service) Remember(ctx context.Context, tenant, contextID, profileURL string) error {
	if _, err := s.profiles.policy.check(profileURL); err != nil {
		return fmt.Errorf("webhooks: profile %w", err)
	}
	_, err := s.agents.Put(ctx, agentKey(tenant, contextID), []byte(profileURL))
	return err
}

// budget is the longest a delivery can take with all its retries: the consumers' ack
// wait is above it, so that an event is not handed to another worker while one is still
// retrying it.
func (s *Service) budget() time.Duration {
	total := time.Duration(s.cfg.MaxRetries+1) * s.cfg.Timeout
	iv := s.cfg.InitialInterval
	for range s.cfg.MaxRetries {
		total += iv
		iv = min(2*iv, s.cfg.MaxInterval)
	}
	return total + 30*time.Second
}

// Metadata keys the unmarshaler sets on each message.
const (
	mdSubject   = "cw_subject"
	mdStreamSeq = "cw_stream_seq"
)

// unmarshaler turns a JetStream message into a Watermill one: its UUID the event's id
// (the Nats-Msg-Id), its metadata the headers plus the subject and stream sequence. It
// never fails.
type unmarshaler struct{}

func (unmarshaler) Unmarshal(m jetstream.Msg) (*message.Message, error) {
	id := m.Headers().Get(nats.MsgIdHdr)
	wm := message.NewMessage(id, m.Data())
	for k, v := range m.Headers() {
		if len(v) > 0 && k != nats.MsgIdHdr {
			wm.Metadata.Set(k, v[0])
		}
	}
	wm.Metadata.Set(mdSubject, m.Subject())
	if meta, err := m.Metadata(); err == nil {
		wm.Metadata.Set(mdStreamSeq, strconv.FormatUint(meta.Sequence.Stream, 10))
		if id == "" {
			wm.UUID = m.Subject() + ":" + strconv.FormatUint(meta.Sequence.Stream, 10)
		}
	}
	return wm, nil
}

// topics the Router subscribes to; consumer maps each to its stream and
// durable consumer.
const (
	topicEvents     = "events"
	topicRedelivery = "redelivery"
)

func (s *Service) consumer(ctx context.Context, js jetstream.JetStream, topic string) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "cartwright: order webhooks",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.budget(),
		MaxDeliver:    -1,
		MaxAckPending: 256,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	stream := redeliveryStream(s.prefix)
	if topic == topicEvents {
		stream = strings.ToUpper(s.prefix) + "_EVT"
		for t := range hookTypes {
			cfg.FilterSubjects = append(cfg.FilterSubjects, s.prefix+".evt.*."+t)
		}
	}
	// The worker creates A2A_EVT as it starts, maybe after the Router has: wait for it.
	for {
		c, err := js.CreateOrUpdateConsumer(ctx, stream, cfg)
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return c, err // durable: never deleted when the Router stops
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Run delivers until ctx ends, then stops the Router, letting the deliveries in flight
// finish (at most the Router's close timeout).
func (s *Service) Run(ctx context.Context) error {
	if s.o.Dial == nil {
		return errors.New("webhooks: Options.Dial is required")
	}
	nc, err := s.o.Dial()
	if err != nil {
		return fmt.Errorf("webhooks: connect: %w", err)
	}
	log := watermill.NewSlogLoggerWithLevelMapping(s.o.Logger.With("component", "webhooks"),
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	sjs, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return err
	}
	sub := &subscriber{
		consumer: func(ctx context.Context, topic string) (jetstream.Consumer, error) {
			return s.consumer(ctx, sjs, topic)
		},
		pullWait:     time.Second,
		nakDelay:     5 * time.Second,
		closeTimeout: routerCloseTimeout,
		log:          s.o.Logger.With("component", "webhooks"),
		closing:      make(chan struct{}),
	}
	// The connection is the subscriptions' own: drained once they have all ended, so
	// that the last acks and naks reach the server.
	defer func() {
		_ = sub.Close()
		_ = nc.Drain()
	}()
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: routerCloseTimeout}, log)
	if err != nil {
		return err
	}
	dl := &deadLetters{js: s.js, prefix: s.prefix, retries: s.cfg.MaxRetries, now: time.Now, metrics: s.metrics}
	// An event whose retries a stop cut short goes back to the stream (nak), not to the
	// dead letters: another worker, or this one restarted, delivers it.
	poison, err := middleware.PoisonQueueWithFilter(dl, CodeWebhookFailed, func(err error) bool {
		return !errors.Is(err, errStopped)
	})
	if err != nil {
		return err
	}
	retry := middleware.Retry{
		MaxRetries:      s.cfg.MaxRetries,
		InitialInterval: s.cfg.InitialInterval,
		MaxInterval:     s.cfg.MaxInterval,
		Multiplier:      2,
		MaxElapsedTime:  s.budget(),
		// No ShouldRetry: Watermill's Retry asks the backoff for its next interval to
		// pass it one, which spends a step, and each wait would be four times the last.
		// An event no retry can cure (not JSON, no order) is tried again all the same,
		// and dead-lettered after.
	}
	// Outermost first: a failure is counted, retried, and only then poisoned; a panic
	// becomes an error inside the retries.
	r.AddMiddleware(poison, stopped, retry.Middleware, s.countFailures, middleware.Recoverer)
	handler := func(m *message.Message) error { return s.handle(m) }
	// The subscriber hands a subscription's messages over one at a time, each held
	// until it is acked: webhooks.concurrency subscriptions of the events consumer let an
	// event being retried hold one of them while the others go on.
	for i := range max(s.cfg.Concurrency, 1) {
		r.AddConsumerHandler(fmt.Sprintf("webhooks_events_%d", i), topicEvents, sub, handler)
	}
	r.AddConsumerHandler("webhooks_redelivery", topicRedelivery, sub, handler)
	if err := r.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// routerCloseTimeout is how long a stop waits for the deliveries in flight.
const routerCloseTimeout = 10 * time.Second

// errStopped is the error of a delivery the stop of the Router cut short.
var errStopped = errors.New("webhooks: delivery stopped")

// stopped turns the failure of a delivery whose message's context ended (the Router is
// stopping: Retry gave up, the POST was canceled) into errStopped.
func stopped(h message.HandlerFunc) message.HandlerFunc {
	return func(m *message.Message) ([]*message.Message, error) {
		out, err := h(m)
		if err != nil && m.Context().Err() != nil {
			return out, fmt.Errorf("%w: %w", errStopped, err)
		}
		return out, err
	}
}

// countFailures counts each failed attempt under its reason.
func (s *Service) countFailures(h message.HandlerFunc) message.HandlerFunc {
	return func(m *message.Message) ([]*message.Message, error) {
		out, err := h(m)
		if err != nil {
			reason := "internal"
			var f failure
			if errors.As(err, &f) {
				reason = f.reason
			}
			s.metrics.failures.WithLabelValues(reason).Inc()
			s.o.Logger.Warn("webhook delivery failed; retrying until the budget is spent, then dead-lettering",
				"event", m.UUID, "reason", reason, "err", err)
		}
		return out, err
	}
}
