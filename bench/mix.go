package bench

import (
	"iter"
	"strconv"
	"strings"
)

// benchMix is what the agents of one phase send: eight envelopes per context, the steps of
// a purchase, interleaved as many agents working at once would interleave them.
//
// Context c sends its step s at position c + s·gap of the stream (ties in context order),
// so that a context's consecutive steps lie about 8·gap envelopes apart: far enough that
// each envelope finds its checkout in the store rather than in the batch it rides in, as
// with agents that think between calls; and, away from the first and last 7·gap
// positions, the stream carries the eight steps in equal shares.
type benchMix struct {
	prefix, tenant string
	phase          byte // 't' throughput, 'l' latency, 'p' preload (contexts only)
	contexts       int
	gap            int
	items          [3]string
}

// benchGap is the most positions between a context's consecutive steps.
const benchGap = 2000

func newBenchMix(prefix, tenant string, phase byte, contexts int, items [3]string) *benchMix {
	gap := min(benchGap, (contexts+StepsPerContext-1)/StepsPerContext)
	return &benchMix{prefix: prefix, tenant: tenant, phase: phase, contexts: contexts, gap: max(1, gap), items: items}
}

// newSteadyMix is the latency phases' mix: the same interleaving with a context's steps
// about 100 ms apart at rate envelopes/s (8·gap envelopes), so that the part of the
// phase where every step is in the stream in equal shares (steady) is most of it, and
// every second of it carries the same mix; the gap stays under 1/16 of the contexts, so
// that the ramps at either end are under half the phase even at tiny sizes.
func newSteadyMix(prefix, tenant string, phase byte, contexts int, items [3]string, rate float64) *benchMix {
	m := newBenchMix(prefix, tenant, phase, contexts, items)
	m.gap = max(1, min(int(rate/80), contexts/16, benchGap))
	return m
}

// steady reports whether context c's step s is published where the stream carries every
// step in equal shares: between the ramp up (the first 7·gap positions, where the later
// steps are still missing) and the ramp down (where the earlier steps have run out).
func (m *benchMix) steady(c, s int) bool {
	p := c + s*m.gap
	return p >= (StepsPerContext-1)*m.gap && p < m.contexts
}

// Len is the number of envelopes.
func (m *benchMix) Len() int { return m.contexts * StepsPerContext }

// all yields, in publishing order, every envelope's index and its context and step.
func (m *benchMix) all() iter.Seq2[int, [2]int] {
	return func(yield func(int, [2]int) bool) {
		i := 0
		last := m.contexts - 1 + (StepsPerContext-1)*m.gap
		for p := 0; p <= last; p++ {
			for s := StepsPerContext - 1; s >= 0; s-- {
				c := p - s*m.gap
				if c < 0 || c >= m.contexts {
					continue
				}
				if !yield(i, [2]int{c, s}) {
					return
				}
				i++
			}
		}
	}
}

// contextID names context c of the phase: a bijective scramble of (phase, c), so that the
// names are unique and spread over the key space as random ids would be.
func (m *benchMix) contextID(c int) string { return benchContextID(m.phase, c) }

func benchContextID(phase byte, c int) string {
	x := uint64(phase)<<56 | uint64(c)
	// splitmix64's finalizer: a bijection of uint64.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	s := strconv.FormatUint(x, 36)
	return "ctx-" + strings.Repeat("0", 13-len(s)) + s
}

// messageID is the messageId of the i-th envelope; benchIndex reads i back from it.
func (m *benchMix) messageID(i int) string { return string(m.phase) + "-" + strconv.Itoa(i) }

func benchIndex(phase byte, messageID string) (int, bool) {
	if len(messageID) < 3 || messageID[0] != phase || messageID[1] != '-' {
		return 0, false
	}
	i, err := strconv.Atoi(messageID[2:])
	return i, err == nil
}

// subject is where the envelope for context c is published under prefix (the worker's,
// or the baseline's own subject space).
func (m *benchMix) subject(prefix string, c int) string {
	return prefix + ".in." + m.tenant + "." + m.contextID(c)
}

// envelope is the JSON-RPC message/send of context c's step s, as the i-th envelope.
func (m *benchMix) envelope(i, c, s int) []byte {
	ctx := m.contextID(c)
	msgID := m.messageID(i)
	b := make([]byte, 0, 512)
	b = append(b, `{"jsonrpc":"2.0","id":"req-`...)
	b = append(b, msgID...)
	b = append(b, `","method":"message/send","params":{"message":{"kind":"message","role":"user","messageId":"`...)
	b = append(b, msgID...)
	b = append(b, `","contextId":"`...)
	b = append(b, ctx...)
	b = append(b, `","parts":[{"kind":"data","data":`...)
	b = m.step(b, ctx, s)
	return append(b, `}]}}}`...)
}

// step appends the data part of step s: the purchase the README walks through.
func (m *benchMix) step(b []byte, ctx string, s int) []byte {
	switch s {
	case 0:
		return append(b, `{"action":"create_checkout"}`...)
	case 1, 2, 3:
		b = append(b, `{"action":"add_item","item_id":"`...)
		b = append(b, m.items[s-1]...)
		return append(b, `","quantity":1}`...)
	case 4:
		b = append(b, `{"action":"set_buyer","buyer":{"first_name":"Ada","last_name":"Lovelace","email":"ada.`...)
		b = append(b, ctx[4:]...)
		return append(b, `@example.com"}}`...)
	case 5:
		return append(b, `{"action":"set_shipping_address","address":{"street_address":"1 Market St",`+
			`"address_locality":"San Francisco","address_region":"CA","postal_code":"94105","address_country":"US"}}`...)
	case 6:
		return append(b, `{"action":"select_shipping_option","option_id":"std"}`...)
	default:
		return append(b, `{"action":"complete_checkout","payment":{"instruments":[{"id":"pi_1","handler_id":"mock",`+
			`"type":"card","selected":true,"credential":{"type":"token","token":"tok_visa"}}]}}`...)
	}
}
