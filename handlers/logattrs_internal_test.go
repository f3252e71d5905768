package handlers

import "testing"

// Only a well-formed traceparent gives the log a trace id: an agent's header is not
// copied into the log in any other shape.
func TestTraceID(t *testing.T) {
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	for tp, want := range map[string]string{
		"00-" + id + "-00f067aa0ba902b7-01":                       id,
		"01-" + id + "-00f067aa0ba902b7-01-future":                id, // a later version may add fields
		"ff-" + id + "-00f067aa0ba902b7-01":                       "",
		"00-" + id + "-00f067aa0ba902b7-01x":                      "",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01": "",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01": "",
		"00-" + id[:31] + "\n-00f067aa0ba902b7-01":                "",
		"":              "",
		"a@example.com": "",
	} {
		if got := traceID(tp); got != want {
			t.Errorf("traceID(%q) = %q, want %q", tp, got, want)
		}
	}
}
