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

	// Sampled every few seconds by Worker.sample, not per envelope: see docs/operations.md.
	Pending       *prometheus.GaugeVec
	AckPending    *prometheus.GaugeVec
	OldestUnacked *prometheus.GaugeVec
	NATSConnected prometheus.Gauge
	Outbox        prometheus.Gauge
	OutboxAge     prometheus.Gauge
	SetAside      prometheus.Gauge

	// The group (CONTRACT.md section 10).
	PartitionsOwned prometheus.Gauge
	Takeovers       prometheus.Counter
	LeaseAge        *prometheus.GaugeVec
	Fenced          prometheus.Counter
	// Restore times each take of an acquired partition with the changelog on.
	Restore prometheus.Histogram
}

// actionUnknown is the action label of envelopes counted before their command was read:
// those returned behind a blocked context (waiting) or left for a rewind (out_of_time),
// and those whose bytes name no action at all.
const actionUnknown = "unknown"

// NewMetrics registers the metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartwright_envelopes_total",
			Help: "Envelopes handled, by action (unknown: not read, or naming none) and outcome: replied: answered (success or error reply); " +
				"replayed: a copy of a messageId already applied, answered with the stored reply; dead_lettered: sent to the dead letters; " +
				"redelivered: a delivery whose outcome was already committed, only acknowledged; retry: a transient failure, returned to JetStream; " +
				"waiting: returned behind a blocked envelope of its context; out_of_time: left for a rewind when its chunk ran out of time.",
		}, []string{"action", "outcome"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartwright_dead_letters_total",
			Help: "Envelopes dead-lettered, by error code.",
		}, []string{"code"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cartwright_batch_envelopes",
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
	m.Pending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cartwright_consumer_pending_envelopes",
		Help: "Envelopes of the partition not yet delivered to the worker (the consumer's num_pending), sampled every few seconds.",
	}, []string{"partition"})
	m.AckPending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cartwright_consumer_ack_pending_envelopes",
		Help: "Envelopes of the partition delivered and not yet acknowledged (the consumer's num_ack_pending), sampled every few seconds.",
	}, []string{"partition"})
	m.OldestUnacked = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cartwright_oldest_unacked_age_seconds",
		Help: "Age of the partition's oldest envelope not yet acknowledged (the first above the consumer's ack floor, by its stream time); 0 when every envelope is acknowledged.",
	}, []string{"partition"})
	m.NATSConnected = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cartwright_nats_connected",
		Help: "1 while the worker's connection to NATS is up, 0 otherwise.",
	})
	m.Outbox = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cartwright_outbox_messages",
		Help: "Messages committed to the outbox and not yet published (replies, events, dead letters), sampled every few seconds.",
	})
	m.OutboxAge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cartwright_outbox_oldest_age_seconds",
		Help: "How long the oldest message of the outbox has waited to be published, to within the sampling interval (a few seconds); 0 when the outbox is empty.",
	})
	m.SetAside = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cartwright_outbox_set_aside_messages",
		Help: "Outbox messages set aside because the server refuses them for good, kept until an operator lists them (`cartwright outbox set-aside`); sampled every few seconds.",
	})
	m.PartitionsOwned = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "cartwright_partitions_owned",
		Help: "Partitions of the inbound stream this worker owns and runs a loop for.",
	})
	m.Takeovers = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cartwright_partition_takeovers_total",
		Help: "Partition leases this worker acquired: at its start, when a worker left or died, at a rebalance.",
	})
	m.LeaseAge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "cartwright_lease_age_seconds",
		Help: "Seconds since this worker acquired the partition's lease, per owned partition; sampled every few seconds.",
	}, []string{"partition"})
	m.Fenced = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "cartwright_partition_fenced_total",
		Help: "Partition loops stopped because their lease was gone before a chunk's publish or ack: nothing of that chunk left this worker.",
	})
	m.Restore = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "cartwright_partition_restore_seconds",
		Help: "With the changelog on, time to take a partition this worker acquired (restore from the changelog, then the epoch marker), before its loop fetches; successful takes only.",
		// 1 ms to about 4.4 min: a store that had the partition catches up in milliseconds,
		// an empty one restores the partition's whole history (docs/workers.md).
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	})
	reg.MustRegister(m.PartitionsOwned, m.Takeovers, m.LeaseAge, m.Fenced, m.Restore)
	reg.MustRegister(m.SetAside, m.OutboxSetAside, m.ConsumerLost, m.Expired, m.Envelopes, m.DeadLetters, m.BatchSize, m.Commit, m.Handle, m.Publish, m.OutboxRetry,
		m.Pending, m.AckPending, m.OldestUnacked, m.NATSConnected, m.Outbox, m.OutboxAge)
	return m
}

// counters keeps the children of a CounterVec of two labels that one goroutine (a
// partition's loop) counts with, so that counting an envelope is a map lookup rather than
// WithLabelValues (label validation, hashing and the vector's lock) each time. Its zero
// value is ready once vec is set.
type counters struct {
	vec *prometheus.CounterVec
	m   map[[2]string]prometheus.Counter
}

func (c *counters) with(a, b string) prometheus.Counter {
	k := [2]string{a, b}
	if ctr, ok := c.m[k]; ok {
		return ctr
	}
	ctr := c.vec.WithLabelValues(a, b)
	if c.m == nil {
		c.m = make(map[[2]string]prometheus.Counter)
	}
	c.m[k] = ctr
	return ctr
}
