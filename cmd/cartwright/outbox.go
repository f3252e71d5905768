package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cartwright-dev/cartwright/store"
)

func newOutbox() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "Read the worker's outbox in its store",
	}
	var data string
	var body bool
	aside := &cobra.Command{
		Use:   "set-aside",
		Short: "List outbox messages the server refused for good, one JSON object a line",
		Long: `set-aside lists the outbox messages NATS refused for good (over the server's max payload
or over a stream's max message size): the worker moved them out of the outbox instead of
retrying them. It reads the store, which the worker holds locked: stop the worker first.`,
		Example: `  cartwright outbox set-aside --data /var/lib/cartwright
  cartwright outbox set-aside --body | jq -r 'select(.subject | startswith("a2a.dlq.")) | .data' | base64 -d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// It reads no idempotency record: no filter of them to fill from the store.
			st, err := store.Open(filepath.Join(data, "store"), store.Options{RecordFilterBytes: -1})
			if err != nil {
				return &exitError{code: exitFailure, err: fmt.Errorf("%w (is the worker running?)", err)}
			}
			defer st.Close()
			entries, err := st.SetAside()
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			return writeSetAside(cmd.OutOrStdout(), entries, body)
		},
	}
	aside.Flags().StringVar(&data, "data", "./cartwright-data", "the worker's data directory")
	aside.Flags().BoolVar(&body, "body", false, "include each message's bytes (base64)")
	cmd.AddCommand(aside)
	return cmd
}

// setAsideLine is one set-aside message as set-aside prints it.
type setAsideLine struct {
	OutboxSeq  uint64              `json:"outbox_seq"`
	SetAsideAt time.Time           `json:"set_aside_at"`
	Reason     string              `json:"reason"`
	Subject    string              `json:"subject"`
	Core       bool                `json:"core,omitempty"`
	Header     map[string][]string `json:"header,omitempty"`
	Bytes      int                 `json:"bytes"`
	Data       []byte              `json:"data,omitempty"`
}

func writeSetAside(w io.Writer, entries []store.Aside, body bool) error {
	enc := json.NewEncoder(w)
	for _, a := range entries {
		l := setAsideLine{
			OutboxSeq:  a.Seq,
			SetAsideAt: a.At.UTC(), Reason: a.Reason,
			Subject: a.Msg.Subject, Core: a.Msg.Core, Header: a.Msg.Header, Bytes: len(a.Msg.Data),
		}
		if body {
			l.Data = a.Msg.Data
		}
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	return nil
}
