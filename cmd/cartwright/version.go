package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

// version, when set at build time (-ldflags "-X main.version=v1.2.3"), wins over the
// module version the Go toolchain stamps: go install …@v1.2.3 stamps v1.2.3, a build from
// a git checkout a pseudo-version (v0.0.0-<commit time>-<revision>, +dirty with local
// changes), and a build with no VCS information "(devel)", reported as "dev".
var version = ""

// build is what the binary knows of its own build.
type build struct {
	Version  string // the release, or "dev"
	Revision string // the VCS revision it was built from, "" when unknown
	Time     string // the revision's commit time (RFC 3339), "" when unknown
	Modified bool   // built from a work tree with uncommitted changes
}

// buildOf reads the build from the toolchain's build information and the -X override.
func buildOf(bi *debug.BuildInfo, ok bool, override string) build {
	b := build{Version: "dev"}
	if ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = bi.Main.Version
	}
	if override != "" {
		b.Version = override
	}
	if !ok {
		return b
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func thisBuild() build {
	bi, ok := debug.ReadBuildInfo()
	return buildOf(bi, ok, version)
}

func versions() map[string]string {
	b := thisBuild()
	v := map[string]string{
		"cartwright": b.Version,
		"a2a":        "0.3",
		"ucp":        "2026-04-08",
		"ap2":        "0.2",
		"go":         runtime.Version(),
	}
	if b.Revision != "" {
		v["revision"] = b.Revision
		if b.Modified {
			v["revision"] += "+modified"
		}
		v["revision_time"] = b.Time
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

// registerBuildInfo adds cartwright_build_info, a constant 1 labelled with the build, the
// usual way to put a version on dashboards and alerts.
func registerBuildInfo(reg prometheus.Registerer) {
	b := thisBuild()
	rev := b.Revision
	if b.Modified {
		rev += "+modified"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "cartwright_build_info",
		Help:        "A constant 1, labelled with the version, VCS revision and Go version of the running binary.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": rev, "goversion": runtime.Version()},
	})
	g.Set(1)
	reg.MustRegister(g)
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of cartwright and of the protocols it speaks",
		Long: `Print the versions of cartwright and of the protocols it speaks, as JSON.

cartwright's version is the module version the Go toolchain stamped: go install
github.com/cartwright-dev/cartwright/cmd/cartwright@v0.3.0 reports v0.3.0; a build from a
git checkout reports a pseudo-version and the revision it was built from; a build without
VCS information (GOFLAGS=-buildvcs=false) reports "dev".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, _ := json.MarshalIndent(versions(), "", "  ")
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
}
