package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// clientFlags are what every client command takes.
type clientFlags struct {
	conn            connFlags
	tenant, context string
	prefix          string
	timeout         time.Duration
}

func (c *clientFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&c.tenant, "tenant", "", "tenant (required)")
	fs.StringVar(&c.context, "context", "", "context id: the conversation the checkout belongs to (required)")
	fs.StringVar(&c.prefix, "prefix", "a2a", "subject prefix")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for the reply")
	c.conn.register(fs, "NATS server URL (default nats://127.0.0.1:4222; also NATS_URL)")
}

func newSend() *cobra.Command {
	var c clientFlags
	cmd := &cobra.Command{
		Use:   "send --tenant T --context C [FILE|-]",
		Short: "Publish a raw envelope (JSON-RPC or bare A2A message) and print its reply",
		Long: `Publish a raw envelope to <prefix>.in.<tenant>.<context> and print the reply.
The envelope is read from FILE, or from standard input when FILE is - or missing.
The reply comes back on a private inbox (A2A-Reply-To). Exit status: 0 for a success
reply, 1 for an error reply, 2 for a usage error, 3 when no reply came in time.`,
		Example: `  echo '{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message",
    "role":"user","messageId":"m-1","parts":[{"kind":"data","data":{"action":"create_checkout"}}]}}}' |
    cartwright send --tenant demo --context ctx-1`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c.tenant == "" || c.context == "" {
				return usageErr("--tenant and --context are required")
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
			reply, err := request(cmd.Context(), &c, body)
			if err != nil {
				return err
			}
			return printReply(cmd.OutOrStdout(), reply)
		},
	}
	c.register(cmd)
	return cmd
}

// request publishes body to the tenant's inbound subject, with A2A-Reply-To set to an
// inbox subscribed first, and waits for the reply. It sets no Nats-Msg-Id: a retry must
// reach the worker to get its reply (CONTRACT.md section 2).
func request(ctx context.Context, c *clientFlags, body []byte) (*nats.Msg, error) {
	nc, err := clientConnect(&c.conn)
	if err != nil {
		return nil, &exitError{code: exitNoReply, err: fmt.Errorf("connect to NATS: %w", err)}
	}
	defer nc.Close()
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, &exitError{code: exitNoReply, err: err}
	}
	defer sub.Unsubscribe()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	m := nats.NewMsg(c.prefix + ".in." + c.tenant + "." + c.context)
	m.Data = body
	m.Header.Set("A2A-Reply-To", inbox)
	if _, err := js.PublishMsg(ctx, m); err != nil {
		return nil, &exitError{code: exitNoReply, err: fmt.Errorf("publish to %s: %w", m.Subject, err)}
	}
	reply, err := sub.NextMsgWithContext(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no reply within %s", c.timeout)
		}
		return nil, &exitError{code: exitNoReply, err: err}
	}
	return reply, nil
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
