package webhooks

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus/ensure"
)

// The platforms behind checkouts: the bucket <PREFIX>_WEBHOOKS maps
//
//	<tenant>.<context>  →  the profile URL the UCP-Agent header named
//
// written by the REST binding when a checkout session is created or completed, read
// when its order's events are delivered. It lives in JetStream, not in a worker's
// store, so that it survives restarts and any worker of a group can deliver.

// agentTTL is how long a checkout's platform is remembered: long enough for an order
// to be shipped, canceled or refunded.
const agentTTL = 90 * 24 * time.Hour

// BucketName is the name of the bucket of platforms, for prefix.
func BucketName(prefix string) string { return strings.ToUpper(prefix) + "_WEBHOOKS" }

func agentKey(tenant, contextID string) string { return tenant + "." + contextID }

func openAgents(ctx context.Context, js jetstream.JetStream, prefix string, replicas int) (jetstream.KeyValue, error) {
	return ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      BucketName(prefix),
		Description: "cartwright: the platform profile behind each checkout, for order webhooks",
		TTL:         agentTTL,
		History:     1,
		Replicas:    max(replicas, 1),
		Storage:     jetstream.FileStorage,
	}, boundedBytes)
}

// lookupAgent is the profile URL remembered for the checkout of tenant's context; "" when
// none is.
func lookupAgent(ctx context.Context, kv jetstream.KeyValue, tenant, contextID string) (string, error) {
	e, err := kv.Get(ctx, agentKey(tenant, contextID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}
