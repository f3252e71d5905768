package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// groupBucket is group.BucketFor(prefix), spelled out: testenv stays above bus/group in
// the layer plan.
func groupBucket(prefix string) string { return strings.ToUpper(prefix) + "_GROUP" }

// Leases reads who holds each partition's lease in the group bucket of prefix, as the
// server has it (docs/workers.md, "The bucket"): worker id by partition. A partition
// nobody holds is absent.
func Leases(ctx context.Context, js jetstream.JetStream, prefix string) (map[int]string, error) {
	kv, err := js.KeyValue(ctx, groupBucket(prefix))
	if err != nil {
		return nil, err
	}
	lister, err := kv.ListKeysFiltered(ctx, "lease.>")
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	out := map[int]string{}
	for _, k := range keys {
		p, err := strconv.Atoi(strings.TrimPrefix(k, "lease."))
		if err != nil {
			continue
		}
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var v struct {
			Worker string `json:"worker"`
		}
		if json.Unmarshal(e.Value(), &v) == nil {
			out[p] = v.Worker
		}
	}
	return out, nil
}

// Lease reads who holds partition p's lease ("" when nobody does).
func Lease(ctx context.Context, js jetstream.JetStream, prefix string, p int) (string, error) {
	kv, err := js.KeyValue(ctx, groupBucket(prefix))
	if err != nil {
		return "", err
	}
	e, err := kv.Get(ctx, "lease."+strconv.Itoa(p))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var v struct {
		Worker string `json:"worker"`
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return "", err
	}
	return v.Worker, nil
}

// WaitReplicated waits until the cluster can place a stream of three replicas: JetStream
// answers as soon as it has a meta leader, before every node has joined, and a worker
// started then with --replicas 3 could not create its streams.
func (c *Cluster) WaitReplicated(t testing.TB) {
	t.Helper()
	js := NewClient(t, c.URLs()).JetStream()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "TESTENV_PROBE", Subjects: []string{"testenv.probe"},
			Replicas: len(c.opts), Storage: jetstream.MemoryStorage})
		if err == nil {
			err = js.DeleteStream(ctx, "TESTENV_PROBE")
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster: no stream of %d replicas after 30s: %v", len(c.opts), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
