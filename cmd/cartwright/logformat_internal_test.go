package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogFormat: --log-format json writes one JSON object a line, text key=value, the
// default (not a terminal here) JSON; anything else is a usage error, from the flag or
// from CARTWRIGHT_LOG_FORMAT, before serve starts anything.
func TestLogFormat(t *testing.T) {
	for _, format := range []string{"json", "text", ""} {
		path := filepath.Join(t.TempDir(), "log")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		h, err := logHandler(f, format, slog.LevelInfo)
		if err != nil {
			t.Fatalf("%q: %v", format, err)
		}
		slog.New(h).Info("hello", "tenant", "demo")
		f.Close()
		out, _ := os.ReadFile(path)
		var rec map[string]any
		isJSON := json.Unmarshal(out, &rec) == nil && rec["tenant"] == "demo"
		if want := format != "text"; isJSON != want {
			t.Errorf("--log-format %q wrote %q", format, out)
		}
		if format == "text" && !strings.Contains(string(out), "tenant=demo") {
			t.Errorf("--log-format text wrote %q", out)
		}
	}

	t.Setenv("CARTWRIGHT_LOG_FORMAT", "xml")
	root := newRoot()
	root.SetArgs([]string{"serve", "--data", t.TempDir()})
	err := root.Execute()
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("CARTWRIGHT_LOG_FORMAT=xml: %v, want a usage error naming --log-format", err)
	}
}
