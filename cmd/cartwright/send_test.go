package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/testenv"
)

// TestSendInclude: send -i prints the reply's headers, sorted, one "Name: value" a line,
// a blank line, then the body; a replay shows A2A-Replayed: true, as the walkthrough says.
func TestSendInclude(t *testing.T) {
	t.Parallel()
	conn := slices.Concat(startServe(t), []string{"--context", "ctx-include"})
	file := filepath.Join(t.TempDir(), "env.json")
	if err := os.WriteFile(file, testenv.Envelope("inc-1", "", map[string]any{"action": "create_checkout"}), 0o600); err != nil {
		t.Fatal(err)
	}
	first := must(t, 0, slices.Concat([]string{"send", "--include"}, conn, []string{file})...)
	again := must(t, 0, slices.Concat([]string{"send", "-i"}, conn, []string{file})...)
	for _, r := range []run{first, again} {
		head, body, ok := strings.Cut(r.stdout, "\n\n")
		if !ok || !strings.HasPrefix(body, "{") {
			t.Fatalf("want headers, a blank line and the body:\n%s", r.stdout)
		}
		lines := strings.Split(head, "\n")
		if !slices.IsSorted(lines) {
			t.Errorf("headers not sorted:\n%s", head)
		}
		for _, want := range []string{"A2A-Message-Id: inc-1", "A2A-Status: ok", "A2A-Tenant: demo"} {
			if !slices.Contains(lines, want) {
				t.Errorf("headers lack %q:\n%s", want, head)
			}
		}
	}
	if strings.Contains(first.stdout, "A2A-Replayed") {
		t.Errorf("the first reply says it is a replay:\n%s", first.stdout)
	}
	if !strings.Contains(again.stdout, "\nA2A-Replayed: true\n") {
		t.Errorf("the replay does not show A2A-Replayed: true:\n%s", again.stdout)
	}
	plain := must(t, 0, slices.Concat([]string{"send"}, conn, []string{file})...)
	if !strings.HasPrefix(plain.stdout, "{") {
		t.Errorf("without --include the body alone: %q", plain.stdout)
	}
}
