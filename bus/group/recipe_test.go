package group_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/testenv"
)

// The changelog fence docs/workers.md prescribes, on this server version: entries of
// partition p go to cl.<p>.<key> (the last value of each key kept), each published on
// the condition that the last sequence under cl.<p>.> is the one its writer last saw; a
// new owner first writes an epoch marker the same way, so the old owner's next write is
// refused whatever its clock says.
func TestChangelogFenceRecipe(t *testing.T) {
	ctx := context.Background()
	n := testenv.StartTestNATS(t)
	js := testenv.NewClient(t, n.URL()).JetStream()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "T_CHANGELOG", Subjects: []string{"cl.>"}, MaxMsgsPerSubject: 1,
	}); err != nil {
		t.Fatal(err)
	}
	const filter = "cl.0.>"
	write := func(subject string, epoch uint64, after uint64) (uint64, error) {
		m := nats.NewMsg(subject)
		m.Header.Set("Cartwright-Epoch", strconv.FormatUint(epoch, 10))
		ack, err := js.PublishMsg(ctx, m, jetstream.WithExpectLastSequenceForSubject(after, filter))
		if err != nil {
			return after, err
		}
		return ack.Sequence, nil
	}

	// The old owner (epoch 7) writes two chunks' entries.
	oldLast, err := write("cl.0.checkout.c1", 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	if oldLast, err = write("cl.0.checkout.c2", 7, oldLast); err != nil {
		t.Fatal(err)
	}
	// The new owner (epoch 12) restored up to oldLast and marks its takeover.
	newLast, err := write("cl.0._epoch", 12, oldLast)
	if err != nil {
		t.Fatal(err)
	}
	// The old owner, paused past its lease, wakes and writes its next chunk: refused.
	_, err = write("cl.0.checkout.c1", 7, oldLast)
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
		t.Fatalf("stale owner's write after the epoch marker: %v, want wrong last sequence", err)
	}
	// The new owner goes on.
	if _, err := write("cl.0.checkout.c1", 12, newLast); err != nil {
		t.Fatal(err)
	}
	// Other partitions are not held up by partition 0's fence.
	m := nats.NewMsg("cl.1.checkout.c9")
	if _, err := js.PublishMsg(ctx, m, jetstream.WithExpectLastSequenceForSubject(0, "cl.1.>")); err != nil {
		t.Fatal(err)
	}
}
