package handlers

import (
	"regexp"
	"strings"
	"time"

	"github.com/cartwright-dev/cartwright/envelopes"
)

// Envelope is one inbound message as the bus hands it over.
type Envelope struct {
	// Subject is the subject the publisher used: <prefix>.in.<tenant>.<context>.
	Subject string
	// Tenant and Context are the subject's tokens; Usable is false when they are not
	// NATS tokens of CONTRACT.md section 2 (the envelope is then dead-lettered to
	// <prefix>.dlq._._ with no reply).
	Tenant, Context string
	Usable          bool
	Data            []byte
	Header          map[string][]string
	// Seq is the envelope's sequence in the inbound stream, Delivered how many times it
	// has been delivered (1 the first time), Time when the stream stored it: the domain's
	// clock for this envelope.
	Seq       uint64
	Delivered int
	Time      time.Time
	// MessageID is the request's messageId once Handle has read it ("" before, or when the
	// bytes hold none): for the log (Log).
	MessageID string

	// enc encodes the envelope's reply and events, each checkout and order once.
	enc envelopes.Resources
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ParseSubject splits a subject of the form <prefix>.in.<tenant>.<context> (as published)
// or <prefix>.in.<partition>.<tenant>.<context> (as stored after the stream's partition
// transform) and reports whether its tenant and context are usable tokens.
func ParseSubject(prefix, subject string) (tenant, context string, usable bool) {
	rest, ok := strings.CutPrefix(subject, prefix+".in.")
	if !ok {
		return "", "", false
	}
	toks := strings.Split(rest, ".")
	switch len(toks) {
	case 2:
	case 3:
		toks = toks[1:]
	default:
		return "", "", false
	}
	tenant, context = toks[0], toks[1]
	return tenant, context, tokenRE.MatchString(tenant) && tokenRE.MatchString(context)
}

func (e *Envelope) header(name string) string {
	if v := e.Header[name]; len(v) > 0 {
		return v[0]
	}
	// Publishers and libraries differ in how they case header names.
	for k, v := range e.Header {
		if len(v) > 0 && strings.EqualFold(k, name) {
			return v[0]
		}
	}
	return ""
}
