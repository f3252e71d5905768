package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func versions() map[string]string {
	v := map[string]string{
		"cartwright": version,
		"a2a":        "0.3",
		"ucp":        "2026-04-08",
		"ap2":        "0.2",
		"go":         runtime.Version(),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/nats-io/nats-server/v2":
				v["nats-server"] = d.Version
			case "github.com/nats-io/nats.go":
				v["nats.go"] = d.Version
			case "github.com/cockroachdb/pebble":
				v["pebble"] = d.Version
			}
		}
	}
	return v
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of cartwright and of the protocols it speaks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, _ := json.MarshalIndent(versions(), "", "  ")
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
}
