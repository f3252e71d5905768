package main

import (
	"context"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/webhooks"
)

// runningWebhooks is the order webhook delivery as serve runs it (docs/webhooks.md).
type runningWebhooks struct {
	remember httpapi.RememberFunc // nil when webhooks.disabled
	cancel   context.CancelFunc
	done     chan struct{}
}

// stop stops the delivery, letting the deliveries in flight finish, and returns once it
// has stopped. Calling it again does nothing more.
func (h *runningWebhooks) stop() {
	if h.done != nil {
		h.cancel()
		<-h.done
	}
}

// startWebhooks starts the order webhook delivery, on a NATS connection of its own to
// url, until ctx ends or stop is called.
func startWebhooks(ctx context.Context, cfg *config.Config, nc *nats.Conn, url string, reg prometheus.Registerer, log *slog.Logger) (*runningWebhooks, error) {
	if cfg.Webhooks.Disabled {
		return &runningWebhooks{}, nil
	}
	site := httpapi.Site{BaseURL: httpapi.BaseURL(cfg.Bridge.PublicURL, cfg.HTTPListen)}
	svc, err := webhooks.New(ctx, cfg, nc, webhooks.Options{
		Dial: func() (*nats.Conn, error) {
			opts, err := natsOptions(cfg.NATS, "cartwright-webhooks")
			if err != nil {
				return nil, err
			}
			return nats.Connect(url, append(opts, nats.MaxReconnects(-1))...)
		},
		BusinessProfile: func(tenant string) string { return site.ProfileURL(cfg, tenant) },
		OrderFor:        httpapi.OrderForVersion,
		Registerer:      reg,
		Logger:          log,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	h := &runningWebhooks{remember: svc.Remember, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		if err := svc.Run(ctx); err != nil {
			log.Error("order webhooks stopped", "err", err)
		}
	}()
	if cfg.Webhooks.SigningKeyFile == "" {
		log.Info("order webhooks are sent unsigned: set webhooks.signing_key_file (a P-256 key) to sign them")
	}
	return h, nil
}
