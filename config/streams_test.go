package config_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/config"
)

// TestStreamsBothSpellings: retention.<stream> and streams.<stream>.max_age both set a
// stream's max age, the newer wins over a default, and the two given differently are
// refused.
func TestStreamsBothSpellings(t *testing.T) {
	ages := func(yml string) config.Retention {
		t.Helper()
		c, err := config.Parse([]byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDefaults()
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		return c.Streams.MaxAges(c.Retention)
	}
	old := ages("retention:\n  replies: 12h\n")
	nu := ages("streams:\n  replies: {max_age: 12h}\n")
	if old != nu || nu.Replies != 12*time.Hour || nu.Requests != 7*24*time.Hour {
		t.Errorf("retention.replies: %+v; streams.replies.max_age: %+v", old, nu)
	}
	if same := ages("retention:\n  replies: 12h\nstreams:\n  replies: {max_age: 12h}\n"); same != nu {
		t.Errorf("both, the same: %+v", same)
	}
	_, err := config.Parse([]byte("retention:\n  replies: 12h\nstreams:\n  replies: {max_age: 6h}\n"))
	if err == nil || !strings.Contains(err.Error(), "streams.replies.max_age 6h0m0s and retention.replies 12h0m0s disagree") {
		t.Errorf("both, differently: %v", err)
	}
}

// TestStreamsValidate: sizes read with units, and what would lose envelopes or could not
// work is refused by name.
func TestStreamsValidate(t *testing.T) {
	c, err := config.Parse([]byte("streams:\n  requests: {max_bytes: 2GiB}\n  events: {max_bytes: 1048576, max_msg_size: 64KiB}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Streams.Requests.MaxBytes != 2<<30 || c.Streams.Events.MaxBytes != 1<<20 || c.Streams.Events.MaxMsgSize != 64<<10 {
		t.Errorf("sizes: %+v", c.Streams)
	}
	if _, err := config.Parse([]byte("streams:\n  replies: {max_bytes: 2GB}\n")); err == nil ||
		!strings.Contains(err.Error(), `"2GB" is not a size`) {
		t.Errorf("2GB: %v", err)
	}
	for yml, want := range map[string]string{
		"requests: {discard: old}":                            `streams.requests.discard: "old" would drop envelopes not applied yet`,
		"requests: {max_msg_size: 1MiB}":                      "streams.requests.max_msg_size: A2A_IN's follows limits.max_envelope_bytes",
		"requests: {max_bytes: 1000}":                         "streams.requests.max_bytes: 1000 is less than one envelope",
		"replies: {discard: oldest}":                          `streams.replies.discard: "oldest" is neither "old" nor "new"`,
		"events: {max_msgs: -2}":                              "streams.events.max_bytes 0, max_msgs -2 and max_msg_size 0 must each be -1",
		"dead_letters: {max_bytes: 1KiB, max_msg_size: 2KiB}": "streams.dead_letters.max_msg_size 2048 is over max_bytes 1024",
		"replies: {max_age: 1m}":                              "streams.replies.max_age: 1m0s is shorter than 2m0s",
	} {
		c, err := config.Parse([]byte("streams:\n  " + yml + "\n"))
		if err != nil {
			t.Fatalf("%s: %v", yml, err)
		}
		c.SetDefaults()
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", yml, err, want)
		}
	}
}

// TestStreamsDocExample: the example of docs/security.md, "Stream sizes and what a full
// stream does", is a valid configuration and means what the text says.
func TestStreamsDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "### Stream sizes and what a full stream does")
	_, block, ok2 := strings.Cut(section, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no yaml example in the section")
	}
	c, err := config.Parse([]byte(block))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Streams.Requests.MaxBytes != 1<<30 || c.Streams.DeadLetters.MaxMsgs != 1000000 || c.Streams.Events.Discard != config.DiscardOld {
		t.Errorf("%+v", c.Streams)
	}
}
