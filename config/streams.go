package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Streams sets the limits of each stream cartwright creates, applied when the stream is
// created and at every start to a stream that exists (docs/security.md, "What is kept,
// where, and for how long"). An account with JetStream limits refuses a stream without
// max_bytes: set it on each of the four, and on changelog when the changelog is on.
//
//	streams:
//	  requests:     {max_age: 168h, max_bytes: 1GiB}   # A2A_IN; discard is always new
//	  replies:      {max_age: 24h, max_bytes: 256MiB, discard: old}
//	  dead_letters: {max_age: 720h, max_bytes: 256MiB}
//	  events:       {max_age: 168h, max_bytes: 256MiB, max_msgs: 1000000}
//
// retention.<stream> is the older spelling of streams.<stream>.max_age, still read.
type Streams struct {
	Requests    StreamLimits `yaml:"requests"`     // A2A_IN
	Replies     StreamLimits `yaml:"replies"`      // A2A_OUT
	DeadLetters StreamLimits `yaml:"dead_letters"` // A2A_DLQ
	Events      StreamLimits `yaml:"events"`       // A2A_EVT
	// Changelog is A2A_CL's (docs/workers.md, "The changelog"): max_bytes only, the
	// changelog keeps every message, and refuses new ones once full.
	Changelog StreamLimits `yaml:"changelog"`
}

// StreamLimits are one stream's limits. A zero field leaves the stream as it is: a new
// stream then has no such limit, an existing one keeps what it has (set -1 to lift a
// limit). MaxAge is the exception: zero is retention.<stream>, whose default is always
// applied.
type StreamLimits struct {
	MaxAge time.Duration `yaml:"max_age"`
	// MaxBytes bounds the stream's size, in bytes or with a unit (512MiB, 1GiB).
	MaxBytes Bytes `yaml:"max_bytes"`
	// MaxMsgs bounds the number of messages it holds.
	MaxMsgs int64 `yaml:"max_msgs"`
	// MaxMsgSize bounds one message. A2A_IN's follows limits.max_envelope_bytes and is
	// not set here.
	MaxMsgSize Bytes `yaml:"max_msg_size"`
	// Discard is what the stream does when a limit is reached: "old" drops its oldest
	// messages, "new" refuses new ones (their publisher gets the error). A2A_IN is always
	// "new": dropping old envelopes would drop some not applied yet.
	Discard string `yaml:"discard"`
}

// Discard policies (StreamLimits.Discard).
const (
	DiscardOld = "old"
	DiscardNew = "new"
)

// Bytes is a size in bytes, written in YAML as a number or with a binary unit: 64KiB,
// 512MiB, 1GiB, 2TiB. -1 is no limit.
type Bytes int64

var byteUnits = []struct {
	suffix string
	shift  uint
}{{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"B", 0}}

// UnmarshalYAML reads a number or a number with a unit.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	var i int64
	if err := n.Decode(&i); err == nil {
		*b = Bytes(i)
		return nil
	}
	s := strings.TrimSpace(n.Value)
	for _, u := range byteUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || v < 0 || v > math.MaxInt64>>u.shift {
			break
		}
		*b = Bytes(v << u.shift)
		return nil
	}
	return fmt.Errorf("line %d: %q is not a size: a number of bytes, or one with KiB, MiB, GiB or TiB", n.Line, n.Value)
}

// each names the four streams' limits with their keys and retention's max ages.
func (s *Streams) each(r Retention, f func(key string, l *StreamLimits, retention time.Duration)) {
	f("requests", &s.Requests, r.Requests)
	f("replies", &s.Replies, r.Replies)
	f("dead_letters", &s.DeadLetters, r.DeadLetters)
	f("events", &s.Events, r.Events)
}

// MaxAges is r with each stream's max age set in s winning: the max ages the streams get.
func (s Streams) MaxAges(r Retention) Retention {
	r = r.WithDefaults()
	set := func(d *time.Duration, v time.Duration) {
		if v != 0 {
			*d = v
		}
	}
	set(&r.Requests, s.Requests.MaxAge)
	set(&r.Replies, s.Replies.MaxAge)
	set(&r.DeadLetters, s.DeadLetters.MaxAge)
	set(&r.Events, s.Events.MaxAge)
	return r
}

// conflicts reports a stream whose max age is given twice, differently, in a file: which
// one was meant is not for the worker to guess.
func (s Streams) conflicts(r Retention) error {
	var errs []error
	s.each(r, func(key string, l *StreamLimits, old time.Duration) {
		if l.MaxAge != 0 && old != 0 && l.MaxAge != old {
			errs = append(errs, fmt.Errorf("streams.%s.max_age %s and retention.%s %s disagree: retention.%s is "+
				"the older spelling of streams.%s.max_age; keep one", key, l.MaxAge, key, old, key, key))
		}
	})
	return errors.Join(errs...)
}

// REQUIRES: maxEnvelope is limits.max_envelope_bytes.
func (s Streams) validate(maxEnvelope int) []error {
	var errs []error
	s.each(Retention{}, func(key string, l *StreamLimits, _ time.Duration) {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s.%s", key, fmt.Sprintf(format, args...)))
		}
		if l.MaxAge != 0 && l.MaxAge < MinStreamRetention {
			bad("max_age: %s is shorter than %s", l.MaxAge, MinStreamRetention)
		}
		if l.MaxBytes < -1 || l.MaxMsgs < -1 || l.MaxMsgSize < -1 {
			bad("max_bytes %d, max_msgs %d and max_msg_size %d must each be -1 (no limit), 0 (as it is) or more",
				l.MaxBytes, l.MaxMsgs, l.MaxMsgSize)
		}
		if l.MaxMsgSize > math.MaxInt32 {
			bad("max_msg_size: %d is over %d", l.MaxMsgSize, math.MaxInt32)
		}
		if l.MaxMsgSize > 0 && l.MaxBytes > 0 && l.MaxMsgSize > l.MaxBytes {
			bad("max_msg_size %d is over max_bytes %d: no such message would fit", l.MaxMsgSize, l.MaxBytes)
		}
		switch l.Discard {
		case "", DiscardOld, DiscardNew:
		default:
			bad("discard: %q is neither %q nor %q", l.Discard, DiscardOld, DiscardNew)
		}
		if key != "requests" {
			return
		}
		if l.Discard == DiscardOld {
			bad("discard: %q would drop envelopes not applied yet when the stream is full; A2A_IN discards %q: "+
				"a publish to a full stream is refused and its publisher sees the error", DiscardOld, DiscardNew)
		}
		if l.MaxMsgSize != 0 {
			bad("max_msg_size: A2A_IN's follows limits.max_envelope_bytes (%d) with room for headers; set that instead",
				maxEnvelope)
		}
		if l.MaxBytes > 0 && l.MaxBytes < Bytes(maxEnvelope) {
			bad("max_bytes: %d is less than one envelope (limits.max_envelope_bytes %d)", l.MaxBytes, maxEnvelope)
		}
	})
	return errs
}
