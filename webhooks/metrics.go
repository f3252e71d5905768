package webhooks

import "github.com/prometheus/client_golang/prometheus"

// metrics of the webhook delivery, on the process's registry.
type metrics struct {
	delivered *prometheus.CounterVec   // cartwright_webhook_deliveries_total{event}
	failures  *prometheus.CounterVec   // cartwright_webhook_failures_total{reason}
	dead      prometheus.Counter       // cartwright_webhook_dead_letters_total
	skipped   *prometheus.CounterVec   // cartwright_webhook_skipped_total{reason}
	latency   *prometheus.HistogramVec // cartwright_webhook_request_seconds{outcome}
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartwright_webhook_deliveries_total",
			Help: "Order events delivered to a platform's webhook (a 2xx answer), by event type.",
		}, []string{"event"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartwright_webhook_failures_total",
			Help: "Failed delivery attempts, each retried until the budget is spent, by reason: status (a non-2xx answer), network, profile (the platform's profile could not be read), invalid (an event without an order), internal.",
		}, []string{"reason"}),
		dead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cartwright_webhook_dead_letters_total",
			Help: "Order events dead-lettered with webhook_failed after their retries (cartwright dlq replay redelivers them).",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartwright_webhook_skipped_total",
			Help: "Order events with nowhere to go, by reason: no_agent (the checkout came with no UCP-Agent over REST), no_webhook (the platform's profile names no order webhook_url).",
		}, []string{"reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cartwright_webhook_request_seconds",
			Help:    "Duration of each webhook POST, by outcome (ok, status, network).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.delivered, m.failures, m.dead, m.skipped, m.latency)
	return m
}
