package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestBuildOf(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-11-30T06:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	for _, tc := range []struct {
		name     string
		bi       *debug.BuildInfo
		ok       bool
		override string
		want     build
	}{
		{"go install @v0.3.0", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, true, "", build{Version: "v0.3.0"}},
		{"a checkout", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, true, "",
			build{Version: "dev", Revision: "0123abc", Time: "2026-11-30T06:00:00Z", Modified: true}},
		{"-X main.version wins", &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, true, "v0.3.1-rc1", build{Version: "v0.3.1-rc1"}},
		{"no build information", nil, false, "", build{Version: "dev"}},
	} {
		if got := buildOf(tc.bi, tc.ok, tc.override); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestBuildInfoMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	registerBuildInfo(reg)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "cartwright_build_info" {
		t.Fatalf("gathered %v, %v", mfs, err)
	}
	m := mfs[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if m.GetGauge().GetValue() != 1 || labels["version"] != thisBuild().Version || !strings.HasPrefix(labels["goversion"], "go") {
		t.Fatalf("cartwright_build_info %v = %v", labels, m.GetGauge().GetValue())
	}
}
