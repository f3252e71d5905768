package chaos

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// gaps is how long envelopes waited for their replies.
type gaps struct {
	n                    int
	median, p99, longest time.Duration
	ctx, id              string   // of the longest
	top                  []string // the five longest
}

func (g gaps) String() string {
	return fmt.Sprintf("n=%d, median %s, p99 %s, longest %s (context %s, %s); the five longest: %s", g.n,
		g.median.Round(time.Millisecond), g.p99.Round(time.Millisecond), g.longest.Round(time.Millisecond), g.ctx, g.id,
		strings.Join(g.top, ", "))
}

// replyGaps measures, for every messageId, the time from its first storing in A2A_IN to
// its first reply's storing in A2A_OUT: what its context waited, kills and takeovers
// included.
//
// The five longest say when (after begin, as the events are logged) they were stored.
func replyGaps(t *testing.T, js jetstream.JetStream, begin time.Time) gaps {
	t.Helper()
	type first struct {
		at  time.Time
		ctx string
	}
	in := map[string]first{}
	for _, s := range collect(t, js, "A2A_IN", 0) {
		var env struct {
			Params struct {
				Message struct {
					MessageID string `json:"messageId"`
				} `json:"message"`
			} `json:"params"`
		}
		if json.Unmarshal(s.Data, &env) != nil || env.Params.Message.MessageID == "" {
			continue
		}
		id := env.Params.Message.MessageID
		if _, ok := in[id]; !ok {
			toks := strings.Split(s.Subject, ".")
			in[id] = first{s.Time, toks[len(toks)-1]}
		}
	}
	type wait struct {
		d      time.Duration
		id     string
		stored time.Duration // after begin
	}
	// The first reply of each messageId (a later one answers a republished envelope).
	replied := map[string]time.Time{}
	for _, r := range collect(t, js, "A2A_OUT", 0) {
		id := r.Header.Get("A2A-Message-Id")
		if at, ok := replied[id]; !ok || r.Time.Before(at) {
			replied[id] = r.Time
		}
	}
	var g gaps
	var all []time.Duration
	var waits []wait
	for id, at := range replied {
		f, ok := in[id]
		if !ok {
			continue
		}
		d := at.Sub(f.at)
		all = append(all, d)
		waits = append(waits, wait{d, id, f.at.Sub(begin)})
		if d > g.longest {
			g.longest, g.ctx, g.id = d, f.ctx, id
		}
	}
	slices.Sort(all)
	g.n = len(all)
	if len(all) > 0 {
		g.median, g.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	slices.SortFunc(waits, func(a, b wait) int { return cmp.Compare(b.d, a.d) })
	for _, w := range waits[:min(5, len(waits))] {
		g.top = append(g.top, fmt.Sprintf("%s %s (stored at %s)", w.id, w.d.Round(time.Millisecond), w.stored.Round(time.Millisecond)))
	}
	return g
}
