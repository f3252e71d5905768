package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/telemetry"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestTraceEndToEnd: with tracing on, one complete_checkout sent through the bridge is
// one trace, from the caller's traceparent to the payment provider: the bridge's server
// span, its publish, the worker's span of the envelope (action, tenant, outcome), and the
// provider call, whose traceparent the provider receives. The reply continues the trace
// from the envelope's span, and the chunk's commit links to it.
func TestTraceEndToEnd(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(telemetry.Install(tp))

	// The merchant's payment service records the traceparent of every call.
	var mu sync.Mutex
	var seen []string
	pay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+" "+r.Header.Get("traceparent"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"approved":true,"payment_id":"pay_1"}`))
	}))
	t.Cleanup(pay.Close)
	httpPay, err := providers.NewHTTPPayments(providers.HTTPOptions{BaseURL: pay.URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := testenv.StartWorker(t, nil, handlers.Options{Providers: handlers.Providers{Payments: httpPay}})
	_, url := startBridge(t, w.Config, w.NATS.URL())

	// The replies to the bridge's inbox, as the worker sent them.
	watch, err := w.Conn.SubscribeSync("_INBOX.>")
	if err != nil {
		t.Fatal(err)
	}

	if r := send(t, url, "tt-create", "ctx-tt", map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_gift"}, "quantity": 1}},
		"buyer":      map[string]any{"email": "a@example.com"}}); r.Result == nil {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}

	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	callerSpan, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	complete := map[string]any{"action": "complete_checkout", "payment": map[string]any{"instruments": []any{
		map[string]any{"id": "pi_1", "handler_id": "mock", "type": "card", "selected": true,
			"credential": map[string]any{"type": "token", "token": "tok_visa"}}}}}
	body := testenv.Envelope("tt-complete", "ctx-tt", complete)
	r := testenv.PostRPC(t, url, strings.NewReader(string(body)), map[string]string{"traceparent": caller})
	if r.Result == nil {
		t.Fatalf("complete: %d %s", r.Status, r.Raw)
	}

	// The spans of the caller's trace; the sender ends the publish span after the reply
	// is out, so it may come last.
	var spans tracetest.SpanStubs
	byName := map[string]tracetest.SpanStub{}
	deadline := time.Now().Add(20 * time.Second)
	for {
		spans = spans[:0]
		clear(byName)
		commits := 0
		for _, s := range exp.GetSpans() {
			if s.SpanContext.TraceID() == traceID {
				spans = append(spans, s)
				byName[s.Name] = s
			}
			if s.Name == "commit" {
				commits++
			}
		}
		_, envelope := byName["handle complete_checkout"]
		if envelope && commits > 0 && len(exp.GetSpans()) > 0 && hasPublishOfCommit(exp.GetSpans()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans of the trace: %v", names(spans))
		}
		time.Sleep(20 * time.Millisecond)
	}

	server, ok1 := byName["POST /a2a/{tenant}"]
	publish, ok2 := byName["publish a2a.in"]
	env, ok3 := byName["handle complete_checkout"]
	call, ok4 := byName["POST /payments/authorize"]
	if !ok1 || !ok2 || !ok3 || !ok4 {
		t.Fatalf("spans of the trace: %v", names(spans))
	}
	parentOf := func(child, parent tracetest.SpanStub) {
		t.Helper()
		if child.Parent.SpanID() != parent.SpanContext.SpanID() {
			t.Errorf("%q: parent %s, want %q (%s)", child.Name, child.Parent.SpanID(), parent.Name, parent.SpanContext.SpanID())
		}
	}
	if server.Parent.SpanID() != callerSpan || server.SpanKind != trace.SpanKindServer {
		t.Errorf("bridge span: parent %s kind %s, want the caller's %s, server", server.Parent.SpanID(), server.SpanKind, callerSpan)
	}
	parentOf(publish, server)
	parentOf(env, publish)
	parentOf(call, env)
	if publish.SpanKind != trace.SpanKindProducer || env.SpanKind != trace.SpanKindConsumer || call.SpanKind != trace.SpanKindClient {
		t.Errorf("kinds: publish %s, envelope %s, provider call %s", publish.SpanKind, env.SpanKind, call.SpanKind)
	}
	attrs := map[string]string{}
	for _, kv := range env.Attributes {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	for k, want := range map[string]string{"cartwright.action": "complete_checkout", "cartwright.tenant": "demo",
		"cartwright.context": "ctx-tt", "cartwright.message_id": "tt-complete", "cartwright.outcome": "replied"} {
		if attrs[k] != want {
			t.Errorf("envelope span: %s = %q, want %q", k, attrs[k], want)
		}
	}
	for _, kv := range server.Attributes {
		if kv.Key == "cartwright.bridge.outcome" && kv.Value.AsString() != "ok" {
			t.Errorf("bridge span: outcome %q", kv.Value.AsString())
		}
	}

	// The provider saw the call's own span as its parent, in the caller's trace.
	wantTP := "00-" + traceID.String() + "-" + call.SpanContext.SpanID().String() + "-01"
	mu.Lock()
	got := strings.Join(seen, "\n")
	mu.Unlock()
	if !strings.Contains(got, "/payments/authorize "+wantTP) {
		t.Errorf("the provider saw:\n%s\nwant /payments/authorize %s", got, wantTP)
	}

	// The reply continues from the envelope's span.
	wantReply := "00-" + traceID.String() + "-" + env.SpanContext.SpanID().String() + "-01"
	for {
		m, err := watch.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no reply to tt-complete on the bridge's inbox: %v", err)
		}
		if m.Header.Get(handlers.HdrMessageID) != "tt-complete" {
			continue
		}
		if tp := m.Header.Get(handlers.HdrTraceParent); tp != wantReply {
			t.Errorf("reply traceparent %q, want %q", tp, wantReply)
		}
		break
	}

	// The chunk's commit links to the envelope's span; the publish follows the commit.
	linked := false
	for _, s := range exp.GetSpans() {
		if s.Name != "commit" {
			continue
		}
		for _, l := range s.Links {
			linked = linked || l.SpanContext.SpanID() == env.SpanContext.SpanID()
		}
	}
	if !linked {
		t.Error("no commit span links to the envelope's span")
	}
}

// hasPublishOfCommit reports whether a chunk's publish span, the child of a commit span,
// was exported.
func hasPublishOfCommit(spans tracetest.SpanStubs) bool {
	commits := map[trace.SpanID]bool{}
	for _, s := range spans {
		if s.Name == "commit" {
			commits[s.SpanContext.SpanID()] = true
		}
	}
	for _, s := range spans {
		if s.Name == "publish" && commits[s.Parent.SpanID()] {
			return true
		}
	}
	return false
}

func names(spans tracetest.SpanStubs) string {
	var n []string
	for _, s := range spans {
		n = append(n, s.Name+"("+s.SpanContext.SpanID().String()+"<"+s.Parent.SpanID().String()+")")
	}
	b, _ := json.Marshal(n)
	return string(b)
}
