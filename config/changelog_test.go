package config_test

import (
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
)

// The changelog is on by default with nats.url, where workers may form a group, and off
// with the embedded server; `changelog:` in the file wins either way.
func TestChangelogDefaultByMode(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want bool
	}{
		{"data_dir: d\n", false},
		{"data_dir: d\nnats: {url: 'nats://n:4222'}\n", true},
		{"data_dir: d\nnats: {url: 'nats://n:4222'}\nchangelog: false\n", false},
		{"data_dir: d\nchangelog: true\n", true},
		{"data_dir: d\nchangelog: false\n", false},
	} {
		c, err := config.Parse([]byte(tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		c.SetDefaults()
		if c.Changelog != tc.want {
			t.Errorf("%q: changelog %v, want %v", tc.yaml, c.Changelog, tc.want)
		}
		c.SetDefaults() // as often as it is called
		if c.Changelog != tc.want {
			t.Errorf("%q, defaults set twice: changelog %v, want %v", tc.yaml, c.Changelog, tc.want)
		}
	}
	// Set in code, it stays set.
	c := &config.Config{Changelog: true}
	if c.SetDefaults(); !c.Changelog {
		t.Error("Changelog: true in code, embedded: turned off")
	}
}

// streams.changelog takes max_bytes alone: the changelog keeps every message.
func TestChangelogStreamLimits(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		ok   bool
	}{
		{"streams: {changelog: {max_bytes: 1GiB}}\n", true},
		{"streams: {changelog: {max_bytes: 1GiB, discard: new}}\n", true},
		{"streams: {changelog: {max_age: 720h}}\n", false},
		{"streams: {changelog: {max_msgs: 1000}}\n", false},
		{"streams: {changelog: {discard: old}}\n", false},
	} {
		c, err := config.Parse([]byte(tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		c.SetDefaults()
		err = c.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok %v", tc.yaml, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "streams.changelog.") {
			t.Errorf("%q: %v does not name streams.changelog", tc.yaml, err)
		}
	}
}
