package bus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/config"
)

// Topology names the streams and subjects for a prefix.
type Topology struct {
	Prefix     string
	Partitions int
	// Retention is the streams' max ages; zero fields take the defaults.
	Retention config.Retention
	// MaxEnvelopeBytes is the envelope limit (limits.max_envelope_bytes): the inbound
	// stream refuses a message over it by more than inHeaderRoom. 0 leaves the stream's
	// max message size as it is.
	MaxEnvelopeBytes int
}

// inHeaderRoom is what the inbound stream takes beyond the envelope limit: room for the
// envelope's headers, and for an envelope somewhat over the limit, which is dead-lettered
// with its bytes and answered envelope_too_large rather than refused at publish time.
// Anything larger is refused when it is published: its dead letter, the bytes plus
// headers, could be over the server's max payload and never leave the outbox.
const inHeaderRoom = 64 << 10

// inMaxMsgSize is the inbound stream's max message size, headers included (0: unset).
func (t Topology) inMaxMsgSize() int32 {
	if t.MaxEnvelopeBytes <= 0 {
		return 0
	}
	return int32(min(t.MaxEnvelopeBytes+inHeaderRoom, math.MaxInt32))
}

// metaPartitions is the inbound stream's metadata key recording its partition count.
const metaPartitions = "cartwright.partitions"

func (t Topology) stream(kind string) string { return strings.ToUpper(t.Prefix) + "_" + kind }

// InStream, OutStream, DLQStream and EventStream are the four streams' names.
func (t Topology) InStream() string    { return t.stream("IN") }
func (t Topology) OutStream() string   { return t.stream("OUT") }
func (t Topology) DLQStream() string   { return t.stream("DLQ") }
func (t Topology) EventStream() string { return t.stream("EVT") }

// PartitionSubject is the stored subject filter of partition p.
func (t Topology) PartitionSubject(p int) string {
	return t.Prefix + ".in." + strconv.Itoa(p) + ".*.*"
}

// ConsumerName is the durable consumer of partition p.
func (t Topology) ConsumerName(p int) string { return fmt.Sprintf("cartwright-p%03d", p) }

func (t Topology) configs() []jetstream.StreamConfig {
	ages := t.Retention.WithDefaults()
	in := jetstream.StreamConfig{
		Name:        t.InStream(),
		Description: "cartwright: A2A request envelopes",
		Subjects:    []string{t.Prefix + ".in.*.*"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      ages.Requests,
		Duplicates:  2 * time.Minute,
		SubjectTransform: &jetstream.SubjectTransformConfig{
			Source: t.Prefix + ".in.*.*",
			Destination: fmt.Sprintf("%s.in.{{partition(%d,1,2)}}.{{wildcard(1)}}.{{wildcard(2)}}",
				t.Prefix, t.Partitions),
		},
		Metadata:   map[string]string{metaPartitions: strconv.Itoa(t.Partitions)},
		MaxMsgSize: t.inMaxMsgSize(),
	}
	mk := func(kind, what string, age time.Duration) jetstream.StreamConfig {
		return jetstream.StreamConfig{
			Name:        t.stream(kind),
			Description: "cartwright: " + what,
			Subjects:    []string{t.Prefix + "." + strings.ToLower(kind) + ".>"},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      age,
			Duplicates:  2 * time.Minute,
		}
	}
	return []jetstream.StreamConfig{
		in,
		mk("OUT", "replies", ages.Replies),
		mk("DLQ", "dead letters", ages.DeadLetters),
		mk("EVT", "domain events", ages.Events),
	}
}

// ErrPartitionsChanged is returned by Provision when the inbound stream exists with
// another partition count: changing it would move contexts between partitions and break
// their order, so it is refused instead.
var ErrPartitionsChanged = errors.New("bus: the inbound stream was created with another partition count")

// ExistingPartitions returns the partition count the inbound stream was created with,
// or 0 when it does not exist yet.
func ExistingPartitions(ctx context.Context, js jetstream.JetStream, t Topology) (int, error) {
	s, err := js.Stream(ctx, t.InStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("bus: stream %s: %w", t.InStream(), err)
	}
	n, err := strconv.Atoi(s.CachedInfo().Config.Metadata[metaPartitions])
	if err != nil {
		return 0, nil // not made by cartwright's Provision: Provision says what is wrong
	}
	return n, nil
}

// Provision creates or updates the four streams, idempotently. Settings an operator
// changed on an existing stream other than subjects, transform, max age (the configured
// retention, docs/security.md) and the inbound stream's max message size (which follows
// t.MaxEnvelopeBytes when set) are kept.
func Provision(ctx context.Context, js jetstream.JetStream, t Topology) error {
	for _, want := range t.configs() {
		s, err := js.Stream(ctx, want.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			if _, err := js.CreateStream(ctx, want); err != nil {
				return fmt.Errorf("bus: create stream %s: %w", want.Name, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("bus: stream %s: %w", want.Name, err)
		}
		have := s.CachedInfo().Config
		if want.Name == t.InStream() {
			if n := have.Metadata[metaPartitions]; n != "" && n != strconv.Itoa(t.Partitions) {
				return fmt.Errorf("%w: stream %s has %s partitions, this worker is configured for %d; "+
					"run with --partitions %s, or drain and delete the stream to change it",
					ErrPartitionsChanged, want.Name, n, t.Partitions, n)
			}
		}
		if sameStream(have, want) {
			continue
		}
		have.Subjects = want.Subjects
		have.SubjectTransform = want.SubjectTransform
		if want.MaxMsgSize != 0 {
			have.MaxMsgSize = want.MaxMsgSize
		}
		have.MaxAge = want.MaxAge
		if have.Metadata == nil {
			have.Metadata = map[string]string{}
		}
		for k, v := range want.Metadata {
			have.Metadata[k] = v
		}
		if _, err := js.UpdateStream(ctx, have); err != nil {
			return fmt.Errorf("bus: update stream %s: %w", want.Name, err)
		}
	}
	return nil
}

func sameStream(have, want jetstream.StreamConfig) bool {
	if have.MaxAge != want.MaxAge {
		return false
	}
	if strings.Join(have.Subjects, ",") != strings.Join(want.Subjects, ",") {
		return false
	}
	if (have.SubjectTransform == nil) != (want.SubjectTransform == nil) {
		return false
	}
	if want.SubjectTransform != nil && *have.SubjectTransform != *want.SubjectTransform {
		return false
	}
	for k, v := range want.Metadata {
		if have.Metadata[k] != v {
			return false
		}
	}
	return want.MaxMsgSize == 0 || have.MaxMsgSize == want.MaxMsgSize
}

// ConsumerConfig is partition p's durable pull consumer.
func (t Topology) ConsumerConfig(p int, ackWait time.Duration, maxAckPending int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       t.ConsumerName(p),
		Description:   fmt.Sprintf("cartwright partition %d of %d", p, t.Partitions),
		FilterSubject: t.PartitionSubject(p),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		// The worker counts deliveries itself and dead-letters past its own limit; a
		// server-side limit would silently stop redelivering instead.
		MaxDeliver:    -1,
		MaxAckPending: maxAckPending,
	}
}
