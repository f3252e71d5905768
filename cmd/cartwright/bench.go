package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/cartwright-dev/cartwright/bench"
	"github.com/cartwright-dev/cartwright/telemetry"
)

// benchFlags are the settings of `cartwright bench`.
type benchFlags struct {
	n, contexts, partitions, batch, preload, latencyN int
	preloadUnsettled                                  bool
	workers, stateCacheMiB                            int
	latencyRate, fixedRate                            float64
	items, prefix, inventory                          string
	data                                              string
	json, skipLatency, skipBaseline, skipFloor        bool
	changelog, skipRequestReply                       bool
	cpuProfile, memProfile, latencyTrace              string
	conn                                              connFlags
}

func newBench() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the worker: throughput, latency, memory, against a bare JetStream consumer and a skeleton worker",
		Long: `Measure the worker as serve runs it (embedded NATS with file storage, Pebble with one
fsync per committed batch, the demo tenant, stock kept in JetStream).

1. Publish --n envelopes over --contexts contexts (8 per context: create_checkout, three
   add_item, set_buyer, set_shipping_address, select_shipping_option, complete_checkout
   with tok_visa), all before the worker starts.
2. Throughput: start the worker and time it until every envelope has its reply stored in
   the reply stream and every partition's consumer has acknowledged everything.
3. Latency: with the worker running, publish --latency-n envelopes for fresh contexts,
   a steady mix (every second carries the eight steps in equal shares), paced at half
   the measured throughput, and time publish → reply for each; then the same mix at a
   fixed --fixed-rate (2,000/s, at most about 30 s of it). The quantiles are over the
   steady part of each phase.
4. Request/reply: with the worker stopped, publish the throughput mix again for fresh
   contexts, every envelope with A2A-Reply-To: _INBOX.…, start a worker on the same store
   and time it until every reply has arrived on the inbox (replies sent with core NATS,
   not stored).
5. Baseline: the same number of messages of the same sizes in an identical stream (another
   subject space), consumed by one bare pull consumer (fetch 500, ack each).
6. Skeleton (the fair floor): the same messages again in another identical stream,
   consumed by one pull consumer per partition that does only what the contract forces:
   per chunk, each envelope's state (the worker's average size) read and written back in
   a Pebble store of its own with an idempotency record carrying the reply, one fsync'd
   commit, a reply of the worker's average size stored in a copy of the reply stream
   (async publishes, the chunk's acknowledgements awaited), then the envelopes acked.
   Then again with the replies sent to an _INBOX with core NATS, not stored: the
   request/reply throughput. Then once more on a store of its own, also storing the
   worker's events (as many per envelope, of the same sizes and subjects, each committed
   to the store first): the skeleton with events, what the contract's events cost.

Peak RSS is the process's (worker, embedded NATS server and the bench's own client),
per phase; with --nats-url the server is another process and not counted. --preload
fills the store with that many stored checkouts first, then compacts it: the preload
writes far faster than a worker and would leave its compactions to the phase
(--preload-unsettled measures with them). The stock of the basket's
counted items is raised first, so that every checkout completes. Stock is
kept where serve keeps it by default on its embedded server, in the store (--inventory
store); --inventory bucket keeps it in the JetStream bucket (stock: bucket, serve's
default with --nats-url; with --changelog, each partition reserving from an allotment
taken in chunks), --inventory memory in process only, to leave its cost out. --changelog runs the worker with changelog: true, to
measure what the changelog costs.

--workers N runs the throughput phase with N worker processes instead: this binary's
serve, each with a data directory of its own under the bench's, in one group on the
bench's NATS (the embedded one, or --nats-url). They start first; once they share the
partitions evenly the envelopes are published while they run, and the phase is timed
from the first publish until every reply is stored and every envelope acknowledged.
The report gives the group's throughput and each worker's partitions owned (from its
/metrics), envelopes, CPU and peak RSS; the latency and request/reply phases are not
run. On one machine the workers share its cores: the figure shows that the group
serves the workload, not how it scales.

Progress goes to stderr; the report to stdout (--json for scripts).
docs/performance.md says how to read it.`,
		Example: `  cartwright bench
  cartwright bench --n 2000 --json
  cartwright bench --preload 1000000 --skip-latency
  cartwright bench --preload 1000000 --preload-unsettled --skip-latency
  cartwright bench --inventory memory --partitions 16
  cartwright bench --cpuprofile cpu.out && go tool pprof -top cartwright cpu.out
  cartwright bench --workers 2 --skip-baseline --skip-floor
  cartwright bench --changelog --skip-latency`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(cmd)
			if err != nil {
				return usageErr("%v", err)
			}
			// Traced as serve would be, so that the bench measures what tracing costs.
			stopTracing, err := telemetry.Setup(cmd.Context(), thisBuild().Version, slog.New(slog.NewTextHandler(os.Stderr, nil)))
			if err != nil {
				return usageErr("%v", err)
			}
			defer stopTracing()
			err = bench.Run(cmd.Context(), o, cmd.OutOrStdout(), os.Stderr)
			if ue := (*bench.UsageError)(nil); errors.As(err, &ue) {
				return usageErr("%v", ue.Err)
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&f.n, "n", 200000, "envelopes to publish for the throughput phase (8 per context)")
	fs.IntVar(&f.contexts, "contexts", 0, "contexts the envelopes go to (default n/8; n defaults to 8 × contexts when only this is given)")
	fs.IntVar(&f.partitions, "partitions", 0, "partitions of the inbound stream (default 4, as serve)")
	fs.IntVar(&f.batch, "batch", 0, "most envelopes fetched and committed at once (default 128, as serve)")
	fs.IntVar(&f.preload, "preload", 0, "checkouts to store before measuring (written straight to the store, then compacted)")
	fs.BoolVar(&f.preloadUnsettled, "preload-unsettled", false, "start the worker on the preloaded store without compacting it first: the phase then also pays for the preload's compactions")
	fs.IntVar(&f.latencyN, "latency-n", 0, "envelopes of the latency phase (default n/2, rounded to whole contexts)")
	fs.Float64Var(&f.latencyRate, "latency-rate", 0, "envelopes/s of the half-load latency phase (default: half the measured throughput)")
	fs.Float64Var(&f.fixedRate, "fixed-rate", 2000, "envelopes/s of the fixed-rate latency phase")
	fs.StringVar(&f.items, "items", "sku_tee,sku_mug,sku_gift", "the three items each context adds, comma-separated")
	fs.StringVar(&f.inventory, "inventory", "store", "where stock is kept: store (as serve by default on its embedded server), bucket (in JetStream, as serve with stock: bucket, its default with --nats-url) or memory (in process only, to leave its cost out)")
	fs.StringVar(&f.prefix, "prefix", "a2a", "subject prefix of the worker's streams")
	fs.StringVar(&f.data, "data", "", "directory for the store and the embedded NATS server, kept afterwards (default: a temporary directory, removed)")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	fs.BoolVar(&f.skipLatency, "skip-latency", false, "skip the latency phase")
	fs.BoolVar(&f.skipBaseline, "skip-baseline", false, "skip the baseline phase")
	fs.BoolVar(&f.skipFloor, "skip-floor", false, "skip the skeleton phases (stored replies and request/reply)")
	fs.BoolVar(&f.skipRequestReply, "skip-request-reply", false, "skip the worker's request/reply phase")
	fs.IntVar(&f.workers, "workers", 0, "run the throughput phase with this many worker processes (this binary's serve, a data directory each) in one group on the bench's NATS, instead of the worker in the bench's process; they start first, the envelopes are published while they run; no latency or request/reply phase")
	fs.IntVar(&f.stateCacheMiB, "state-cache-mib", 0, "the worker's cache of recent states, as serve's store.state_cache_mib (default 16; -1: none, every state read from Pebble as the skeleton reads it)")
	fs.BoolVar(&f.changelog, "changelog", false, "write the partitions' changelog, as serve with changelog: true (docs/workers.md)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the throughput phase to this file")
	fs.StringVar(&f.latencyTrace, "latency-trace", "", "write every envelope of the latency phases (when published, how long its reply took) to <this>-half-load.csv and <this>-fixed-rate.csv")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a heap profile, taken at the end of the throughput phase, to this file")
	f.conn.register(fs, "use this NATS instead of starting an embedded one (the bench refuses streams that already exist)")
	return cmd
}

// options derives the defaults that depend on which flags were given; bench.Run checks
// the rest.
func (f *benchFlags) options(cmd *cobra.Command) (bench.Options, error) {
	const steps = bench.StepsPerContext
	nSet, cSet := cmd.Flags().Changed("n"), cmd.Flags().Changed("contexts")
	if f.contexts == 0 || (nSet && !cSet) {
		if f.n%steps != 0 {
			return bench.Options{}, fmt.Errorf("--n %d: the mix is %d envelopes per context, so --n must be a multiple of %d", f.n, steps, steps)
		}
		f.contexts = f.n / steps
	} else if !nSet {
		f.n = steps * f.contexts
	}
	o := bench.Options{
		N: f.n, Contexts: f.contexts, Partitions: f.partitions, Batch: f.batch, Preload: f.preload, PreloadUnsettled: f.preloadUnsettled, LatencyN: f.latencyN,
		LatencyRate: f.latencyRate, FixedRate: f.fixedRate, Items: f.items, Prefix: f.prefix, Inventory: f.inventory, Data: f.data,
		JSON: f.json, SkipLatency: f.skipLatency, SkipBaseline: f.skipBaseline, SkipFloor: f.skipFloor, SkipRequestReply: f.skipRequestReply, Changelog: f.changelog,
		StateCacheMiB: f.stateCacheMiB, CPUProfile: f.cpuProfile, MemProfile: f.memProfile, LatencyTrace: f.latencyTrace, Workers: f.workers,
		NATSOptions: natsOptions, RedactURL: redactURL, Versions: versions(),
	}
	f.conn.apply(&o.NATS)
	if f.workers > 0 {
		exe, err := os.Executable()
		if err != nil {
			return bench.Options{}, fmt.Errorf("--workers: the binary to run: %w", err)
		}
		o.WorkerBinary = exe
	}
	return o, nil
}
