// Package bench measures the worker as serve runs it: throughput, latency and memory,
// against a bare JetStream consumer and a skeleton worker (the fair floor). `cartwright bench` runs it;
// docs/performance.md says how to read the report.
package bench

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/config"
)

// StepsPerContext is the size of the mix one context sends (see benchMix).
const StepsPerContext = 8

// Options are the settings of a run, as `cartwright bench` takes them from its flags
// (the flags' names are in the error messages). A zero Partitions, Batch or LatencyN takes
// the default that the flag's help names.
type Options struct {
	// N envelopes over Contexts contexts: N must be StepsPerContext × Contexts.
	N, Contexts, Partitions, Batch, Preload, LatencyN int
	// LatencyRate is the half-load latency phase's envelopes/s; 0: half the measured
	// throughput. FixedRate is the fixed-rate latency phase's; 0: 2,000.
	LatencyRate, FixedRate float64
	// Items are the three items each context adds, comma-separated.
	Items, Prefix string
	// Inventory is where stock is kept: store, bucket or memory.
	Inventory string
	// PreloadUnsettled starts the worker on the preloaded store as the preload left it,
	// its compactions behind, instead of compacting it first.
	PreloadUnsettled bool
	// Changelog runs the worker with `changelog: true`, to measure what it costs.
	Changelog bool
	// StateCacheMiB is the worker's store.state_cache_mib: 0 its default, -1 none.
	StateCacheMiB int
	// Workers > 0 runs the throughput phase with that many worker processes in one group
	// (WorkerBinary serve, each with a data directory of its own) instead of the worker
	// in the bench's process; the latency and request/reply phases, which measure the
	// in-process worker, are skipped.
	Workers int
	// WorkerBinary is the cartwright binary the workers run (REQUIRES: set when Workers is).
	WorkerBinary string
	// Data is the directory for the store and the embedded NATS server, kept afterwards;
	// empty: a temporary directory, removed.
	Data                                       string
	JSON, SkipLatency, SkipBaseline, SkipFloor bool
	// SkipRequestReply skips the worker's request/reply phase.
	SkipRequestReply       bool
	CPUProfile, MemProfile string
	// LatencyTrace, when set, has each latency phase write every envelope's publish time
	// and reply time to LatencyTrace-half-load.csv and LatencyTrace-fixed-rate.csv.
	LatencyTrace string

	// NATS is the NATS to use instead of an embedded one (URL empty: embedded), with its
	// credentials.
	NATS config.NATS
	// NATSOptions turns NATS into a client's options, the connection named name; nil:
	// only the name.
	NATSOptions func(n config.NATS, name string) ([]nats.Option, error)
	// RedactURL hides what a NATS URL carries before the host, before the report or an
	// error shows it. REQUIRES: set when NATS.URL is.
	RedactURL func(string) string
	// Versions are the versions the report names (the protocols' are left out).
	Versions map[string]string
}

// UsageError is a run refused for its settings: the command exits as on a bad flag.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErr(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// check derives the defaults that depend on other settings and checks the settings.
func (o *Options) check() error {
	if o.N < StepsPerContext || o.Contexts < 1 {
		return fmt.Errorf("--n %d, --contexts %d: need at least one context of %d envelopes", o.N, o.Contexts, StepsPerContext)
	}
	if o.N != StepsPerContext*o.Contexts {
		return fmt.Errorf("--n %d over --contexts %d: the mix is %d envelopes per context, so --n must be %d × --contexts",
			o.N, o.Contexts, StepsPerContext, StepsPerContext)
	}
	if o.LatencyN == 0 {
		o.LatencyN = o.N / 2
	}
	o.LatencyN = max(StepsPerContext, o.LatencyN/StepsPerContext*StepsPerContext)
	if o.FixedRate == 0 {
		o.FixedRate = 2000
	}
	if o.FixedRate < 0 || o.LatencyRate < 0 {
		return fmt.Errorf("--latency-rate %g, --fixed-rate %g: a rate is positive", o.LatencyRate, o.FixedRate)
	}
	if o.Preload < 0 {
		return fmt.Errorf("--preload %d is negative", o.Preload)
	}
	if o.Inventory != "store" && o.Inventory != "bucket" && o.Inventory != "memory" {
		return fmt.Errorf("--inventory %q: store, bucket or memory", o.Inventory)
	}
	if len(strings.Split(o.Items, ",")) != 3 {
		return fmt.Errorf("--items %q: name exactly three items", o.Items)
	}
	if o.Workers < 0 {
		return fmt.Errorf("--workers %d is negative", o.Workers)
	}
	if o.Workers > 0 {
		switch {
		case o.WorkerBinary == "":
			return errors.New("--workers without the binary to run them")
		case o.Inventory == "memory":
			return fmt.Errorf("--workers %d with --inventory memory: worker processes keep stock in their store or the bucket", o.Workers)
		case o.Preload > 0:
			return fmt.Errorf("--workers %d with --preload: the preload fills the bench's own store, which the workers do not use", o.Workers)
		case o.CPUProfile != "" || o.MemProfile != "":
			return fmt.Errorf("--workers %d: the profiles are of the bench's process, not of the workers (use their /debug or run without --workers)", o.Workers)
		}
	}
	if o.NATS.URL != "" && o.RedactURL == nil {
		// Printing the URL as given could show its credentials.
		return errors.New("a NATS URL without a RedactURL")
	}
	return nil
}

func (o *Options) natsOptions(n config.NATS, name string) ([]nats.Option, error) {
	if o.NATSOptions == nil {
		return []nats.Option{nats.Name(name)}, nil
	}
	return o.NATSOptions(n, name)
}

// redact is o.RedactURL; check makes sure a URL that could carry credentials has one.
func (o *Options) redact(url string) string {
	if o.RedactURL == nil {
		return url
	}
	return o.RedactURL(url)
}
