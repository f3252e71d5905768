package store

import (
	"reflect"
	"testing"
	"time"
)

func TestCodecRoundTrips(t *testing.T) {
	rec := &Record{Fingerprint: [32]byte{1, 2, 3}, Seq: 1 << 40, At: time.Unix(1700000000, 123).UTC(),
		IsError: true, Code: "invalid_params", Body: []byte(`{"code":-32602}`)}
	got, err := decodeRecord(encodeRecord(rec))
	if err != nil || !reflect.DeepEqual(got, rec) {
		t.Fatalf("record: %+v, %v", got, err)
	}
	m := &Outgoing{Subject: "a2a.out.demo.c", Core: true, Data: []byte("bytes\x00with\xffanything"),
		Header: map[string][]string{"Nats-Msg-Id": {"demo:m:reply"}, "X": {"1", "2"}}}
	gm, _, err := decodeOutgoing(encodeOutgoing(m))
	if err != nil || !reflect.DeepEqual(&gm, m) {
		t.Fatalf("outgoing: %+v, %v", gm, err)
	}
}

func FuzzDecodeOutgoing(f *testing.F) {
	f.Add(encodeOutgoing(&Outgoing{Subject: "s", Header: map[string][]string{"a": {"b"}}, Data: []byte("d")}))
	f.Add(encodeRecord(&Record{Code: "x", Body: []byte("y")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = decodeOutgoing(b) // must not panic, whatever the bytes
		_, _ = decodeRecord(b)
	})
}
