package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/bus/dlq"
)

type dlqFlags struct {
	conn         connFlags
	prefix       string
	tenant, code string
	since        string
	seq          uint64
	all, dryRun  bool
	format       string
	timeout      time.Duration
}

func (f *dlqFlags) register(cmd *cobra.Command, selecting bool) {
	fs := cmd.Flags()
	fs.StringVar(&f.prefix, "prefix", "a2a", "subject prefix")
	fs.StringVar(&f.tenant, "tenant", "", "only dead letters of this tenant")
	fs.StringVar(&f.code, "code", "", "only dead letters with this error code (e.g. temporarily_unavailable)")
	fs.StringVar(&f.since, "since", "", "only dead letters stored since then: a duration (2h) or an RFC 3339 time")
	fs.Uint64Var(&f.seq, "seq", 0, "only the dead letter with this sequence number")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long the whole command may take")
	if selecting {
		fs.BoolVar(&f.all, "all", false, "act on every dead letter when no filter is given")
		fs.BoolVar(&f.dryRun, "dry-run", false, "show what would be done, do nothing")
	}
	f.conn.register(fs, "NATS server URL (default nats://127.0.0.1:4222; also NATS_URL)")
}

func (f *dlqFlags) filter() (dlq.Filter, error) {
	flt := dlq.Filter{Tenant: f.tenant, Code: f.code, Seq: f.seq}
	if f.since != "" {
		if d, err := time.ParseDuration(f.since); err == nil {
			flt.Since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, f.since); err == nil {
			flt.Since = t
		} else {
			return flt, usageErr("--since %q: want a duration like 2h or an RFC 3339 time", f.since)
		}
	}
	return flt, nil
}

// dlqSession is a connection to the dead-letter queue, within --timeout, and the dead
// letters the filters select.
type dlqSession struct {
	ctx   context.Context
	q     *dlq.Queue
	dls   []dlq.DeadLetter
	close func()
}

// session connects and selects; the caller closes it.
func (f *dlqFlags) session(cmd *cobra.Command) (*dlqSession, error) {
	flt, err := f.filter()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	nc, err := clientConnect(&f.conn)
	if err != nil {
		cancel()
		return nil, &exitError{code: exitNoReply, err: fmt.Errorf("connect to NATS: %w", err)}
	}
	end := func() { nc.Close(); cancel() }
	js, err := jetstream.New(nc)
	if err != nil {
		end()
		return nil, err
	}
	q := dlq.New(js, bus.Topology{Prefix: f.prefix})
	dls, err := q.List(ctx, flt)
	if err != nil {
		end()
		return nil, &exitError{code: exitFailure, err: err}
	}
	return &dlqSession{ctx: ctx, q: q, dls: dls, close: end}, nil
}

func newDLQ() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect and redrive dead letters",
		Long: `Dead letters are envelopes cartwright could not handle: malformed ones
(parse_error, invalid_envelope, envelope_too_large), ones whose provider kept failing
(temporarily_unavailable), and ones that hit a bug (internal_error). Each keeps the
original bytes and headers saying why (A2A-Error-Code, A2A-Error, A2A-Original-Subject,
A2A-Original-Seq, A2A-Attempts, A2A-Failed-At). Credential values (payment tokens, AP2
mandates) are replaced by "[redacted]" (A2A-Redacted: true); a body too large for one
NATS message keeps its start only (A2A-Truncated: true, A2A-Original-Size).

replay republishes the original bytes to the original subject and removes the dead
letter once JetStream has acknowledged the republish. Replaying one twice has the effect
of replaying it once. It refuses, and leaves in place, a dead letter whose original
subject is not an inbound subject of the tenant its own subject names, or whose body
was truncated; it then exits 1. A redacted complete_checkout replayed is answered with
invalid_params asking the agent to send it again with its credential.`,
		Example: `  cartwright dlq ls
  cartwright dlq ls --code temporarily_unavailable --since 2h --format json
  cartwright dlq show --seq 42
  cartwright dlq replay --code temporarily_unavailable --dry-run
  cartwright dlq replay --tenant demo --all
  cartwright dlq purge --code parse_error --since 24h`,
	}
	cmd.AddCommand(newDLQList(), newDLQShow(), newDLQReplay(), newDLQPurge())
	return cmd
}

func newDLQList() *cobra.Command {
	var f dlqFlags
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List dead letters (a table; --format json for scripts)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.format != "table" && f.format != "json" {
				return usageErr("--format %q: want table or json", f.format)
			}
			sess, err := f.session(cmd)
			if err != nil {
				return err
			}
			defer sess.close()
			dls := sess.dls
			if f.format == "json" {
				return writeJSON(cmd.OutOrStdout(), dlqJSON(dls, false))
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tSTORED\tCODE\tSUBJECT\tMESSAGE ID\tATTEMPTS\tERROR")
			for _, d := range dls {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", d.Seq, d.Stored.UTC().Format(time.RFC3339),
					d.Code, d.OriginalSubject, orDash(d.MessageID), d.Attempts, clip(d.Error, 60))
			}
			tw.Flush()
			fmt.Fprintf(cmd.ErrOrStderr(), "%d dead letter(s)\n", len(dls))
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&f.format, "format", "table", "table or json")
	return cmd
}

func newDLQShow() *cobra.Command {
	var f dlqFlags
	cmd := &cobra.Command{
		Use:     "show --seq N",
		Short:   "Show one dead letter: its headers and the original envelope",
		Args:    cobra.NoArgs,
		Example: "  cartwright dlq show --seq 42",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.seq == 0 {
				return usageErr("--seq is required")
			}
			sess, err := f.session(cmd)
			if err != nil {
				return err
			}
			defer sess.close()
			if len(sess.dls) == 0 {
				return &exitError{code: exitErrReply, err: fmt.Errorf("no dead letter with sequence %d", f.seq)}
			}
			return writeJSON(cmd.OutOrStdout(), dlqJSON(sess.dls, true)[0])
		},
	}
	f.register(cmd, false)
	return cmd
}

func newDLQReplay() *cobra.Command {
	var f dlqFlags
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Republish dead letters to their original subjects, then remove them",
		Args:  cobra.NoArgs,
		Example: `  cartwright dlq replay --seq 42
  cartwright dlq replay --code temporarily_unavailable --since 1h
  cartwright dlq replay --all --dry-run`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.each(cmd, "replay", (*dlq.Queue).Replayable, func(ctx context.Context, q *dlq.Queue, d *dlq.DeadLetter) error {
				_, err := q.Replay(ctx, d)
				return err
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

func newDLQPurge() *cobra.Command {
	var f dlqFlags
	cmd := &cobra.Command{
		Use:     "purge",
		Short:   "Remove dead letters without replaying them",
		Args:    cobra.NoArgs,
		Example: "  cartwright dlq purge --code parse_error --since 24h\n  cartwright dlq purge --all",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.each(cmd, "purge", nil, func(ctx context.Context, q *dlq.Queue, d *dlq.DeadLetter) error {
				return q.Delete(ctx, d.Seq)
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

// each applies op to every selected dead letter, with a progress bar on a terminal and a
// summary at the end. It stops at the first failure: what is left stays dead-lettered.
// A dead letter that check (when not nil) or op refuses (dlq.ErrReplayRefused) is left
// in place and counted, and the others go on; the command then exits 1.
func (f *dlqFlags) each(cmd *cobra.Command, verb string, check func(*dlq.Queue, *dlq.DeadLetter) error,
	op func(context.Context, *dlq.Queue, *dlq.DeadLetter) error) error {
	flt, err := f.filter()
	if err != nil {
		return err
	}
	if flt.Empty() && !f.all {
		return usageErr("%s of every dead letter needs --all (or a filter: --tenant, --code, --since, --seq)", verb)
	}
	sess, err := f.session(cmd)
	if err != nil {
		return err
	}
	defer sess.close()
	ctx, q, dls := sess.ctx, sess.q, sess.dls
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.dryRun {
		refused := 0
		for i, d := range dls {
			if check != nil {
				if err := check(q, &dls[i]); err != nil {
					fmt.Fprintf(out, "would refuse %d (%s, %s): %v\n", d.Seq, d.Code, d.OriginalSubject, err)
					refused++
					continue
				}
			}
			fmt.Fprintf(out, "would %s %d (%s, %s)\n", verb, d.Seq, d.Code, d.OriginalSubject)
		}
		fmt.Fprintf(errw, "dry run: %d dead letter(s) would be %s, %d refused\n", len(dls)-refused, past(verb), refused)
		return nil
	}
	bar := newProgress(errw, len(dls))
	n, refused := 0, 0
	for i := range dls {
		err := op(ctx, q, &dls[i])
		if errors.Is(err, dlq.ErrReplayRefused) {
			// Left in place for an operator to look at: the others still go.
			refused++
			fmt.Fprintf(errw, "refused %d (%s, %s): %v\n", dls[i].Seq, dls[i].Code, dls[i].OriginalSubject, err)
			bar.set(n + refused)
			continue
		}
		if err != nil {
			bar.done()
			fmt.Fprintf(errw, "%s %d of %d; stopped at %d: %v\n", past(verb), n, len(dls), dls[i].Seq, err)
			return &exitError{code: exitFailure, err: fmt.Errorf("%s stopped", verb)}
		}
		n++
		bar.set(n + refused)
	}
	bar.done()
	if refused > 0 {
		fmt.Fprintf(errw, "%s %d dead letter(s); refused %d, left in place\n", past(verb), n, refused)
		return &exitError{code: exitFailure, err: fmt.Errorf("%d dead letter(s) refused", refused)}
	}
	fmt.Fprintf(errw, "%s %d dead letter(s)\n", past(verb), n)
	return nil
}

// progress draws a bar on a terminal and nothing elsewhere.
type progress struct {
	w     io.Writer
	total int
	tty   bool
}

func newProgress(w io.Writer, total int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: w, total: total, tty: tty && total > 1}
}

func (p *progress) set(n int) {
	if !p.tty {
		return
	}
	const width = 30
	fill := width * n / max(p.total, 1)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d", strings.Repeat("#", fill), strings.Repeat(".", width-fill), n, p.total)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func dlqJSON(dls []dlq.DeadLetter, withBody bool) []map[string]any {
	out := make([]map[string]any, 0, len(dls))
	for _, d := range dls {
		m := map[string]any{
			"seq": d.Seq, "subject": d.Subject, "stored": d.Stored.UTC().Format(time.RFC3339Nano),
			"code": d.Code, "error": d.Error, "original_subject": d.OriginalSubject,
			"original_seq": d.OriginalSeq, "attempts": d.Attempts, "message_id": d.MessageID,
			"redacted": d.Redacted, "truncated": d.Truncated,
		}
		if !d.FailedAt.IsZero() {
			m["failed_at"] = d.FailedAt.UTC().Format(time.RFC3339)
		}
		if withBody {
			m["headers"] = d.Header
			if json.Valid(d.Data) {
				m["envelope"] = json.RawMessage(d.Data)
			} else {
				m["envelope_text"] = string(d.Data)
			}
		}
		out = append(out, m)
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func past(verb string) string {
	if strings.HasSuffix(verb, "e") {
		return verb + "d"
	}
	return verb + "ed"
}
