// Package ensure creates a JetStream stream or key-value bucket, or brings an existing
// one to the settings asked for, without touching one that already has them.
//
// Every worker of a group does this at start, all at once. An update of a stream that
// did not need one is not free: the server rewrites the stream's metadata and, in
// nats-server 2.15, races with a consumer being added to the same stream by another
// worker (fileStore.UpdateConfig against fileStore.ConsumerStore). So a create is tried
// first, which the server answers with the existing stream when its settings are the
// same, and an update is sent only when they differ.
package ensure

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrCodeMaxBytesRequired is the server's error code for a stream without max_bytes on
// an account whose JetStream limits require one (nats-server's JSStreamMaxBytesRequired).
const ErrCodeMaxBytesRequired = 10113

// Stream creates the stream cfg describes, or updates the existing one when its settings
// differ. When the account requires a size on every stream and cfg has none (MaxBytes 0
// or -1), it is done again with bounded bytes.
func Stream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, bounded int64) (jetstream.Stream, error) {
	return withBound(cfg.MaxBytes, bounded, func(maxBytes int64) (jetstream.Stream, error) {
		cfg.MaxBytes = maxBytes
		s, err := js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = js.UpdateStream(ctx, cfg)
		}
		return s, err
	})
}

// KeyValue creates the bucket cfg describes, or updates the existing one when its
// settings differ; with bounded as Stream's.
func KeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig, bounded int64) (jetstream.KeyValue, error) {
	return withBound(cfg.MaxBytes, bounded, func(maxBytes int64) (jetstream.KeyValue, error) {
		cfg.MaxBytes = maxBytes
		kv, err := js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.UpdateKeyValue(ctx, cfg)
		}
		return kv, err
	})
}

// withBound runs ensure with maxBytes, and again with bounded when the account refused a
// stream without a size.
func withBound[T any](maxBytes, bounded int64, ensure func(maxBytes int64) (T, error)) (T, error) {
	v, err := ensure(maxBytes)
	if maxBytes <= 0 && bounded > 0 && maxBytesRequired(err) {
		v, err = ensure(bounded)
	}
	return v, err
}

func maxBytesRequired(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == ErrCodeMaxBytesRequired
}
