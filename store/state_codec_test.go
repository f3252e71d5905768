package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// fill sets every field reachable from v to a distinct non-zero value: slices get two
// elements, pointers a value. A field the codec forgets then fails the round trip.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + string(rune('a'+*n%26)) + string(rune('a'+*n/26%26)))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n) * 7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < 2; i++ {
			fill(v.Index(i), n)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Unix(1_700_000_000, int64(*n)).UTC()))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), n)
		}
	default:
		panic("fill: " + v.Kind().String())
	}
}

func TestStateCodecRoundTripsEveryField(t *testing.T) {
	var full commerce.State
	n := 0
	fill(reflect.ValueOf(&full).Elem(), &n)
	got, err := decodeState(encodeState(full))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, full) {
		a, _ := json.Marshal(full)
		b, _ := json.Marshal(got)
		t.Fatalf("round trip lost something:\nwant %s\ngot  %s", a, b)
	}
	if len(encodeState(full))*2 > len(must(json.Marshal(full))) {
		t.Errorf("binary %d bytes, JSON %d: expected less than half", len(encodeState(full)), len(must(json.Marshal(full))))
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// Nil and empty slices, nil pointers and zero times come back as they went.
func TestStateCodecKeepsNilAndEmptyApart(t *testing.T) {
	for _, st := range []commerce.State{
		{},
		{Orders: []*commerce.Order{}},
		{Checkout: &commerce.Checkout{ID: "chk", LineItems: []commerce.LineItem{}, Totals: nil,
			Discounts: commerce.Discounts{Codes: []string{}}, Messages: []commerce.Message{}}},
		{Checkout: &commerce.Checkout{ID: "chk", CreatedAt: time.Unix(0, 1).UTC()}, Orders: []*commerce.Order{{ID: "o"}}},
	} {
		got, err := decodeState(encodeState(st))
		if err != nil || !reflect.DeepEqual(got, st) {
			t.Errorf("%+v → %+v, %v", st, got, err)
		}
	}
}

// A state an older version stored as JSON is still read.
func TestStateCodecReadsJSON(t *testing.T) {
	var full commerce.State
	n := 0
	fill(reflect.ValueOf(&full).Elem(), &n)
	got, err := decodeState(must(json.Marshal(full)))
	if err != nil || !reflect.DeepEqual(got, full) {
		t.Fatalf("JSON state: %v", err)
	}
}

func FuzzDecodeState(f *testing.F) {
	var full commerce.State
	n := 0
	fill(reflect.ValueOf(&full).Elem(), &n)
	f.Add(encodeState(full))
	f.Add(encodeState(commerce.State{}))
	f.Add([]byte{stateCodecVersion, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeState(b) // must not panic, whatever the bytes
		if err == nil && len(b) > 0 && b[0] == stateCodecVersion {
			if again, err := decodeState(encodeState(st)); err != nil || !reflect.DeepEqual(again, st) {
				t.Fatalf("a decoded state does not round-trip: %v", err)
			}
		}
	})
}

func BenchmarkStateCodec(b *testing.B) {
	var full commerce.State
	n := 0
	fill(reflect.ValueOf(&full).Elem(), &n)
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := decodeState(encodeState(full)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var st commerce.State
			if err := json.Unmarshal(must(json.Marshal(full)), &st); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A state written with version 1 of the framing (before UsedMandates) is still read.
// States written by versions 1 to 3 are read, the fields they had no place for left
// zero.
func TestStateCodecReadsOlderVersions(t *testing.T) {
	var full commerce.State
	n := 0
	fill(reflect.ValueOf(&full).Elem(), &n)
	for _, v := range []byte{1, 2, 3} {
		want := full.Clone()
		for _, o := range want.Orders {
			o.Events, o.Adjustments = nil, nil
		}
		old := appendStateVersion(nil, full, v)
		if v == 3 {
			if got, err := decodeState(old); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("version 3 state: %v\n got %+v\nwant %+v", err, got.Orders[0], want.Orders[0])
			}
			continue
		}
		for _, b := range []*commerce.Buyer{want.Checkout.Buyer, want.Orders[0].Buyer, want.Orders[1].Buyer} {
			b.CustomerID, b.Consent = "", nil
		}
		for _, f := range []*commerce.Fulfillment{&want.Checkout.Fulfillment, &want.Orders[0].Fulfillment, &want.Orders[1].Fulfillment} {
			f.Destinations, f.DestinationID, f.Requested = nil, "", false
		}
		for _, o := range want.Orders {
			o.ShippedAt = time.Time{}
		}
		if v < 2 {
			want.Checkout.UsedMandates = nil
		}
		if old[0] != v {
			t.Fatalf("version byte %d", old[0])
		}
		got, err := decodeState(old)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("version %d state: %v\n got %+v\nwant %+v", v, err, got.Checkout, want.Checkout)
		}
	}
}

// A state that sets none of version 3's fields is written as version 2, which a worker of
// the previous release (reading versions up to 2) reads back whole; setting any one of
// them writes version 3, which that worker refuses and this one reads.
func TestStateCodecWritesOldestVersionThatHoldsIt(t *testing.T) {
	var full commerce.State
	n := 0
	fill(reflect.ValueOf(&full).Elem(), &n)
	plain := full.Clone()
	for _, b := range []*commerce.Buyer{plain.Checkout.Buyer, plain.Orders[0].Buyer, plain.Orders[1].Buyer} {
		b.CustomerID, b.Consent = "", nil
	}
	for _, f := range []*commerce.Fulfillment{&plain.Checkout.Fulfillment, &plain.Orders[0].Fulfillment, &plain.Orders[1].Fulfillment} {
		f.Destinations, f.DestinationID, f.Requested = nil, "", false
	}
	for _, o := range plain.Orders {
		o.ShippedAt = time.Time{}
		o.Events, o.Adjustments = nil, nil
	}
	for _, st := range []commerce.State{plain, {}, {Checkout: &commerce.Checkout{ID: "chk"}}} {
		b := encodeState(st)
		if b[0] != 2 {
			t.Fatalf("a state with none of the new fields is written as version %d", b[0])
		}
		for _, max := range []byte{2, stateCodecVersion} {
			got, err := decodeStateUpTo(b, max)
			if err != nil || !reflect.DeepEqual(got, st) {
				t.Fatalf("a reader of versions up to %d: %v\n got %+v\nwant %+v", max, err, got.Checkout, st.Checkout)
			}
		}
	}

	yes := true
	for name, set := range map[string]func(st *commerce.State){
		"customer id":            func(st *commerce.State) { st.Checkout.Buyer.CustomerID = "cust_1" },
		"consent":                func(st *commerce.State) { st.Checkout.Buyer.Consent = &commerce.Consent{Marketing: &yes} },
		"empty consent":          func(st *commerce.State) { st.Orders[1].Buyer.Consent = &commerce.Consent{} },
		"destinations":           func(st *commerce.State) { st.Orders[0].Fulfillment.Destinations = []commerce.Destination{{ID: "a"}} },
		"no destinations, empty": func(st *commerce.State) { st.Checkout.Fulfillment.Destinations = []commerce.Destination{} },
		"destination id":         func(st *commerce.State) { st.Checkout.Fulfillment.DestinationID = "addr_1" },
		"requested":              func(st *commerce.State) { st.Checkout.Fulfillment.Requested = true },
		"partial address":        func(st *commerce.State) { st.Checkout.Fulfillment.Address = &commerce.Address{AddressCountry: "US"} },
		"shipped order":          func(st *commerce.State) { st.Orders[0].ShippedAt = time.Unix(1, 0).UTC() },
	} {
		st := plain.Clone()
		set(&st)
		b := encodeState(st)
		if b[0] != 3 {
			t.Errorf("%s: written as version %d, want 3", name, b[0])
			continue
		}
		if _, err := decodeStateUpTo(b, 2); err == nil {
			t.Errorf("%s: a reader of versions up to 2 read version 3", name)
		}
		if got, err := decodeState(b); err != nil || !reflect.DeepEqual(got, st) {
			t.Errorf("%s: round trip: %v", name, err)
		}
	}

	// An order's reported events or adjustments (update_order): version 4, which a
	// reader of versions up to 3 refuses.
	for name, set := range map[string]func(st *commerce.State){
		"reported events": func(st *commerce.State) {
			st.Orders[0].Events = []commerce.OrderEvent{{ID: "evt_1", Type: "shipped", TrackingNumber: "TRACK123",
				LineItems: []commerce.LineQuantity{{ID: "li_1", Quantity: 2}}}}
		},
		"adjustments": func(st *commerce.State) {
			st.Orders[1].Adjustments = []commerce.Adjustment{{ID: "adj_1", Type: "refund", Status: "pending", Amount: 500}}
		},
		"no events, empty": func(st *commerce.State) { st.Orders[0].Events = []commerce.OrderEvent{} },
	} {
		st := plain.Clone()
		set(&st)
		b := encodeState(st)
		if b[0] != 4 {
			t.Errorf("%s: written as version %d, want 4", name, b[0])
			continue
		}
		if _, err := decodeStateUpTo(b, 3); err == nil {
			t.Errorf("%s: a reader of versions up to 3 read version 4", name)
		}
		if got, err := decodeState(b); err != nil || !reflect.DeepEqual(got, st) {
			t.Errorf("%s: round trip: %v", name, err)
		}
	}
}

// A shipped order's ShippedAt survives a round trip (version 3).
func TestStateCodecShippedAt(t *testing.T) {
	var full commerce.State
	n := 0
	fill(reflect.ValueOf(&full).Elem(), &n)
	full.Orders[0].ShippedAt = time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC)
	got, err := decodeState(encodeState(full))
	if err != nil || !got.Orders[0].ShippedAt.Equal(full.Orders[0].ShippedAt) {
		t.Fatalf("ShippedAt does not round-trip: %v %v", err, got.Orders)
	}
}
