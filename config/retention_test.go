package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/config"
)

// TestRetention: zero retention takes the defaults of CONTRACT.md section 2, a YAML file
// sets each, and one shorter than the streams' duplicate window is refused by name.
func TestRetention(t *testing.T) {
	def := config.Default().Retention
	if def.Requests != 7*24*time.Hour || def.Replies != 24*time.Hour || def.DeadLetters != 30*24*time.Hour || def.Events != 7*24*time.Hour {
		t.Errorf("defaults: %+v", def)
	}
	c, err := config.Parse([]byte("retention:\n  dead_letters: 72h\n  replies: 1m\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if c.Retention.DeadLetters != 72*time.Hour || c.Retention.Events != 7*24*time.Hour {
		t.Errorf("from YAML: %+v", c.Retention)
	}
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "retention.replies: 1m0s is shorter than 2m0s") {
		t.Errorf("Validate: %v", err)
	}
}
