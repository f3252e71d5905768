package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
)

func newSend() *cobra.Command {
	var c clientFlags
	var include bool
	cmd := &cobra.Command{
		Use:   "send --tenant T --context C [FILE|-]",
		Short: "Publish a raw envelope (JSON-RPC or bare A2A message) and print its reply",
		Long: `Publish a raw envelope to <prefix>.in.<tenant>.<context> and print the reply.
The envelope is read from FILE, or from standard input when FILE is - or missing.
The reply comes back on a private inbox (A2A-Reply-To). --include (-i), as curl's, prints
the reply's headers first (A2A-Status, A2A-Replayed, A2A-Error-Code, ...): sorted, one
"Name: value" a line, then a blank line, then the body. Exit status: 0 for a success
reply, 1 for an error reply, 2 for a usage error, 3 when no reply came in time.`,
		Example: `  echo '{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message",
    "role":"user","messageId":"m-1","parts":[{"kind":"data","data":{"action":"create_checkout"}}]}}}' |
    cartwright send --tenant demo --context ctx-1
  cartwright send -i --tenant demo --context ctx-1 envelope.json   # again: A2A-Replayed: true`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.check(); err != nil {
				return err
			}
			var in io.Reader = cmd.InOrStdin()
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return usageErr("%v", err)
				}
				defer f.Close()
				in = f
			}
			body, err := io.ReadAll(in)
			if err != nil {
				return usageErr("reading the envelope: %v", err)
			}
			reply, err := request(cmd.Context(), &c, messageIDOf(body), body)
			if err != nil {
				return err
			}
			if include {
				printHeaders(cmd.OutOrStdout(), reply.Header)
			}
			return printReply(cmd.OutOrStdout(), reply)
		},
	}
	c.register(cmd)
	cmd.Flags().BoolVarP(&include, "include", "i", false, "print the reply's headers, then a blank line, then the body")
	return cmd
}

// printReply prints the reply as indented JSON and maps its status to the exit code.
func printReply(w io.Writer, reply *nats.Msg) error {
	var out bytes.Buffer
	if err := json.Indent(&out, reply.Data, "", "  "); err != nil {
		out.Reset()
		out.Write(reply.Data)
	}
	fmt.Fprintln(w, out.String())
	if reply.Header.Get("A2A-Status") == "error" {
		return &exitError{code: exitErrReply, err: errors.New("")}
	}
	return nil
}

// printHeaders prints hdr as curl -i does: one "Name: value" line per value, sorted by
// name (a name's values in their order), then a blank line.
func printHeaders(w io.Writer, hdr nats.Header) {
	for _, k := range slices.Sorted(maps.Keys(hdr)) {
		for _, v := range hdr[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(w)
}
