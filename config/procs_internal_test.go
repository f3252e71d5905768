package config

import "testing"

// As many processors again as CPUs, up to MaxExtraProcs more, on a machine or a
// container without a CPU limit below them; the runtime's default under one, which more
// threads would exceed.
func TestProcsFor(t *testing.T) {
	for _, tc := range []struct {
		procs, def, cpus, want int
	}{
		{0, 1, 1, 2},
		{0, 2, 2, 4},
		{0, 4, 4, 8},
		{0, 64, 64, 64 + MaxExtraProcs}, // a few spare processors, not as many again
		{0, 2, 8, 2},                    // a limit of 2 CPUs on an 8-CPU machine
		{3, 2, 8, 3},                    // a number is taken as it is
		{-1, 8, 8, 8},                   // the runtime's default
		{-1, 2, 8, 2},
	} {
		if got := procsFor(tc.procs, tc.def, tc.cpus); got != tc.want {
			t.Errorf("procsFor(%d, default %d, %d CPUs) = %d, want %d", tc.procs, tc.def, tc.cpus, got, tc.want)
		}
	}
}
