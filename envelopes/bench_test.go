package envelopes

import (
	"encoding/json"
	"testing"
)

var benchEnvelope = []byte(rpc(`{"action":"add_item","item_id":"sku_tee","quantity":2}`))

var benchUCP = func() []byte {
	enc, _ := EncodeCheckout(sampleCheckout())
	return []byte(rpc(`{"a2a.ucp.checkout":` + string(enc) + `}`))
}()

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEnvelope)))
	for b.Loop() {
		if _, err := Decode(benchEnvelope, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, bc := range []struct {
		name string
		raw  []byte
	}{{"add_item", benchEnvelope}, {"ucp_checkout", benchUCP}} {
		b.Run(bc.name, func(b *testing.B) {
			env, err := Decode(bc.raw, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			if err := Validate(env, testTenant, testContext, Limits{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(env, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	unchecked(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEnvelope)))
	for b.Loop() {
		if _, err := Parse(benchEnvelope, testTenant, testContext, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseUCP parses a whole UCP checkout: a data part of 2 KB.
func BenchmarkParseUCP(b *testing.B) {
	unchecked(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchUCP)))
	for b.Loop() {
		if _, err := Parse(benchUCP, testTenant, testContext, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFingerprint(b *testing.B) {
	env, _ := Decode(benchEnvelope, Limits{})
	b.ReportAllocs()
	for b.Loop() {
		fingerprint(env.Message, testContext)
	}
}

// BenchmarkFingerprintUCP fingerprints a whole UCP checkout: many objects, each with
// several keys, which is where the per-object key checks cost most.
func BenchmarkFingerprintUCP(b *testing.B) {
	env, _ := Decode(benchUCP, Limits{})
	b.ReportAllocs()
	b.SetBytes(int64(len(env.Message)))
	for b.Loop() {
		fingerprint(env.Message, testContext)
	}
}

func BenchmarkEncodeReply(b *testing.B) {
	c := sampleCheckout()
	id := json.RawMessage(`"req-7"`)
	b.ReportAllocs()
	for b.Loop() {
		Wrap(id, ResultBody("msg-01J9Z", testContext, c, nil), false)
	}
}
