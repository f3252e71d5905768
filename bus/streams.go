package bus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
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
	// Streams is the streams' limits; a max age set here wins over Retention's.
	Streams config.Streams
	// MaxEnvelopeBytes is the envelope limit (limits.max_envelope_bytes): the inbound
	// stream refuses a message over it by more than inHeaderRoom. 0 leaves the stream's
	// max message size as it is.
	MaxEnvelopeBytes int
	// Replicas is the replica count of the streams Provision creates (0: one). A stream
	// that exists keeps its own: changing it is an operator's decision (nats stream edit).
	Replicas int
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

// stream is one stream as Provision makes it: its configuration when it is created, and
// the limits it applies to one that exists.
type stream struct {
	jetstream.StreamConfig
	key    string // its key under streams: in the configuration
	limits config.StreamLimits
}

func (t Topology) configs() []stream {
	ages := t.Streams.MaxAges(t.Retention)
	in := jetstream.StreamConfig{
		Name:        t.InStream(),
		Description: "cartwright: A2A request envelopes",
		Subjects:    []string{t.Prefix + ".in.*.*"},
		Storage:     jetstream.FileStorage,
		Replicas:    max(t.Replicas, 1),
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
			Replicas:    max(t.Replicas, 1),
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      age,
			Duplicates:  2 * time.Minute,
		}
	}
	all := []stream{
		{in, "requests", t.Streams.Requests},
		{mk("OUT", "replies", ages.Replies), "replies", t.Streams.Replies},
		{mk("DLQ", "dead letters", ages.DeadLetters), "dead_letters", t.Streams.DeadLetters},
		{mk("EVT", "domain events", ages.Events), "events", t.Streams.Events},
	}
	for i := range all {
		s := &all[i]
		s.MaxBytes, s.MaxMsgs = -1, -1
		s.limit(&s.StreamConfig)
	}
	return all
}

// limit sets on c the limits s has: those configured, and A2A_IN's discard policy, which
// is always new.
func (s stream) limit(c *jetstream.StreamConfig) {
	l := s.limits
	if l.MaxBytes != 0 {
		c.MaxBytes = int64(l.MaxBytes)
	}
	if l.MaxMsgs != 0 {
		c.MaxMsgs = l.MaxMsgs
	}
	if s.MaxMsgSize != 0 { // A2A_IN's, from the envelope limit
		c.MaxMsgSize = s.MaxMsgSize
	} else if l.MaxMsgSize != 0 {
		c.MaxMsgSize = int32(l.MaxMsgSize)
	}
	switch {
	case s.key == "requests":
		// INVARIANT: A2A_IN never drops an envelope to make room: one not applied yet
		// would be lost with no one told. A full stream refuses the publish instead.
		c.Discard = jetstream.DiscardNew
	case l.Discard == config.DiscardNew:
		c.Discard = jetstream.DiscardNew
	case l.Discard == config.DiscardOld:
		c.Discard = jetstream.DiscardOld
	}
}

// refused is the error of a stream the server would not create or update with s's
// settings: it names the stream, the setting when the server's answer says which, and the
// configuration key that sets it.
//
// REQUIRES: c is what was sent: s's configuration, or the existing stream's updated.
func (s stream) refused(verb string, c jetstream.StreamConfig, err error) error {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case errMaxBytesRequired:
			return fmt.Errorf("bus: %s stream %s: the account's JetStream limits require a max_bytes on every "+
				"stream; set streams.%s.max_bytes (docs/security.md): %w", verb, s.Name, s.key, err)
		case errMaxStreamBytesExceeded, errStorageResourcesExceeded, errInsufficientResources:
			return fmt.Errorf("bus: %s stream %s: max_bytes %d (streams.%s.max_bytes) is more than the account's "+
				"JetStream limits leave for it, the four streams' max_bytes together: %w", verb, s.Name, c.MaxBytes, s.key, err)
		}
	}
	return fmt.Errorf("bus: %s stream %s: the server refused its settings (streams.%s: max_age %s, max_bytes %d, "+
		"max_msgs %d, max_msg_size %d, discard %s): %w", verb, s.Name, s.key, c.MaxAge, c.MaxBytes, c.MaxMsgs,
		c.MaxMsgSize, c.Discard, err)
}

// The server's error codes (nats-server's jetstream_errors_generated.go) for a stream
// over the account's JetStream limits; nats.go names none of them.
const (
	errInsufficientResources    = 10023
	errStorageResourcesExceeded = 10047
	errMaxBytesRequired         = 10113
	errMaxStreamBytesExceeded   = 10122
)

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

// Provision creates or updates the four streams, idempotently. On a stream that exists it
// sets subjects, transform, max age (the configured retention, docs/security.md), the
// inbound stream's max message size (which follows t.MaxEnvelopeBytes when set) and its
// discard policy (always new), and the limits t.Streams configures; other settings an
// operator changed are kept. A refusal by the server is an error naming the stream and
// the setting: the worker does not start on streams other than those configured.
func Provision(ctx context.Context, js jetstream.JetStream, t Topology) error {
	for _, want := range t.configs() {
		s, err := js.Stream(ctx, want.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			if _, err := js.CreateStream(ctx, want.StreamConfig); err != nil {
				return want.refused("create", want.StreamConfig, err)
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
		next := have
		next.Subjects = want.Subjects
		next.SubjectTransform = want.SubjectTransform
		next.MaxAge = want.MaxAge
		want.limit(&next)
		if len(want.Metadata) > 0 {
			next.Metadata = maps.Clone(have.Metadata)
			if next.Metadata == nil {
				next.Metadata = map[string]string{}
			}
			maps.Copy(next.Metadata, want.Metadata)
		}
		if reflect.DeepEqual(next, have) {
			continue
		}
		if _, err := js.UpdateStream(ctx, next); err != nil {
			return want.refused("update", next, err)
		}
	}
	return nil
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
