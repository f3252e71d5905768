package bus

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the worker's Prometheus metrics.
type Metrics struct {
	Envelopes   *prometheus.CounterVec
	DeadLetters *prometheus.CounterVec
	BatchSize   prometheus.Histogram
	Commit      prometheus.Histogram
	Handle      prometheus.Histogram
	Publish     prometheus.Histogram
	OutboxRetry prometheus.Counter
	Expired     prometheus.Counter
	// OutboxSetAside counts outbox messages the server refused for good, moved out of the
	// outbox (see the contract's operator notes on the outbox).
	OutboxSetAside prometheus.Counter
	// ConsumerLost counts, per partition, durable consumers found deleted while running.
	ConsumerLost *prometheus.CounterVec
}

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartwright_envelopes_total",
			Help: "Envelopes handled, by action and outcome (replied, replayed, dead_lettered, redelivered, retry; waiting: returned behind a blocked envelope of its context; out_of_time: left for a rewind when its chunk ran out of time).",
		}, []string{"action", "outcome"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartwright_dead_letters_total",
			Help: "Envelopes dead-lettered, by error code.",
		}, []string{"code"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cartwright_batch_size",
			Help:    "Envelopes per committed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		Commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cartwright_commit_seconds",
			Help:    "Time to commit one batch to the store (one fsync).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		Handle: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cartwright_handle_seconds",
			Help:    "Time to handle one batch of envelopes, before the commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		Publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cartwright_publish_seconds",
			Help:    "Time to publish one batch's replies, events and dead letters and get JetStream's acks.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		OutboxRetry: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cartwright_outbox_republished_total",
			Help: "Messages published again from the outbox after a failed or interrupted publish.",
		}),
		Expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cartwright_checkouts_expired_total",
			Help: "Open checkouts canceled because their expires_at passed.",
		}),
		OutboxSetAside: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cartwright_outbox_set_aside_total",
			Help: "Outbox messages the server refused for good (over its max payload or a stream's max message size), set aside instead of retried.",
		}),
		ConsumerLost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartwright_consumer_lost_total",
			Help: "Durable consumers of the inbound stream found deleted while the worker ran, by partition; each is created again after the partition's committed watermark.",
		}, []string{"partition"}),
	}
	reg.MustRegister(m.OutboxSetAside, m.ConsumerLost, m.Expired, m.Envelopes, m.DeadLetters, m.BatchSize, m.Commit, m.Handle, m.Publish, m.OutboxRetry)
	return m
}
