package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "cartwright",
		Short: "Agentic commerce on a message bus: A2A/UCP checkouts over NATS JetStream",
		Long: `cartwright is the merchant-side worker for agentic commerce. Agents publish A2A
envelopes to NATS JetStream subjects; cartwright applies each to its checkout exactly once
and publishes the reply.

Every flag can also be set with an environment variable CARTWRIGHT_<FLAG>
(--nats-url → CARTWRIGHT_NATS_URL); client commands also honour NATS_URL.

NATS secrets are never flags: the token comes from NATS_TOKEN (or CARTWRIGHT_NATS_TOKEN)
or --token-file, the password from NATS_PASSWORD (or CARTWRIGHT_NATS_PASSWORD) or
--password-file, with the user from --user or NATS_USER; or use --creds or --nkey.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := refuseSecretFlags(cmd.Flags()); err != nil {
				return err
			}
			if err := bindEnv(cmd); err != nil {
				return err
			}
			return checkInboxPrefix(cmd.Flags())
		},
	}
	root.AddCommand(newServe(), newCheckout(), newOrder(), newSend(), newDLQ(), newVersion(), newBench())
	root.AddCommand(newOutbox())
	return root
}

// bindEnv sets every flag the command line left unset from CARTWRIGHT_<FLAG>, and the
// NATS URL of client commands from NATS_URL.
func bindEnv(cmd *cobra.Command) error {
	var errs []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Annotations[refusedFlag] != nil {
			return
		}
		name := "CARTWRIGHT_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(name)
		if !ok && f.Name == "nats-url" && cmd.Name() != "serve" {
			v, ok = os.LookupEnv("NATS_URL")
		}
		if !ok {
			return
		}
		if err := cmd.Flags().Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", name, v, err))
		}
	})
	if len(errs) > 0 {
		return usageErr("%s", strings.Join(errs, "; "))
	}
	return nil
}
