package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// callFlags are the flags of the commands that send one action and print its reply:
// checkout and order, and all their verbs.
type callFlags struct {
	clientFlags
	format    string
	messageID string
}

func (f *callFlags) registerOn(cmd *cobra.Command, contextHelp string) {
	fs := cmd.PersistentFlags()
	f.clientFlags.registerOn(fs, contextHelp)
	fs.StringVarP(&f.format, "format", "o", formatJSON, "output: json, yaml or table")
	fs.StringVar(&f.messageID, "message-id", "", "the request's messageId, its idempotency key (default: a new one)")
}

// check reports a usage error for a bad common flag.
func (f *callFlags) check() error {
	if err := f.clientFlags.check(); err != nil {
		return err
	}
	if err := checkFormat(f.format); err != nil {
		return err
	}
	if f.messageID != "" && !messageIDPattern.MatchString(f.messageID) {
		return usageErr("--message-id %q: want 1 to 128 of A-Z a-z 0-9 . _ : -", f.messageID)
	}
	return nil
}

// call sends a in a fresh message (or the one --message-id names), waits for the reply
// and prints it. The caller has checked the flags.
func (f *callFlags) call(cmd *cobra.Command, a action) error {
	id := f.messageID
	if id == "" {
		id = newID("msg-", 16)
	}
	reply, err := request(cmd.Context(), &f.clientFlags, id, envelope(id, f.context, a))
	if err != nil {
		var ee *exitError
		var ns notSent
		if errors.As(err, &ee) && ee.code == exitNoReply && !errors.As(ee.err, &ns) {
			// The message may have reached the worker: the same messageId gets its reply
			// and never applies it twice.
			ee.err = fmt.Errorf("%w\nto try again without applying it twice: --message-id %s", ee.err, id)
		}
		return err
	}
	return writeReply(cmd.OutOrStdout(), f.format, reply)
}

// verb makes the command of one verb: build checks the verb's own flags and turns them
// into the action to send.
func verb(f *callFlags, use, short, example string, build func(cmd *cobra.Command) (action, error)) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			a, err := build(cmd)
			if err != nil {
				return err
			}
			return f.call(cmd, a)
		},
	}
}

// group makes the parent of a set of verbs: run without a verb or with an unknown one, it
// is a usage error.
func group(use, short, long, example string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		Example: example,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				cmd.Usage()
				return usageErr("%s needs a verb", cmd.CommandPath())
			}
			return usageErr("unknown verb %q for %s; see %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())
		},
	}
}

// required reports a usage error unless every flag named was given (on the command line
// or in the environment).
func required(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		if !cmd.Flags().Changed(n) {
			return usageErr("%s: --%s is required", cmd.CommandPath(), n)
		}
	}
	return nil
}
