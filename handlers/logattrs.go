package handlers

import "log/slog"

// Log is l with what identifies the envelope on every line: tenant, context, messageId
// (once Handle has read it), stream sequence and the trace id of its W3C traceparent
// header. It is built only where a line is logged, never per envelope.
//
// Never add the envelope's body, buyer fields, addresses or credentials: what identifies
// the request is enough to find it (in the stream, the dead letters or the traces), and
// logs are kept and shipped far more widely than the data itself.
func (e *Envelope) Log(l *slog.Logger) *slog.Logger {
	args := make([]any, 0, 12)
	if e.Usable {
		args = append(args, "tenant", e.Tenant, "context", e.Context)
	} else {
		args = append(args, "subject", e.Subject)
	}
	if e.MessageID != "" {
		args = append(args, "message_id", e.MessageID)
	}
	args = append(args, "seq", e.Seq)
	if id := traceID(e.header(HdrTraceParent)); id != "" {
		args = append(args, "trace_id", id)
	}
	return l.With(args...)
}

// traceID is the trace id of a W3C traceparent (version-traceid-parentid-flags, lower-case
// hex), or "" when tp is not one: an agent's header reaches the log only in that shape.
func traceID(tp string) string {
	if len(tp) < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' || (len(tp) > 55 && tp[55] != '-') {
		return ""
	}
	if tp[:2] == "ff" || !lowerHex(tp[:2]) || !lowerHex(tp[3:35]) || !lowerHex(tp[36:52]) || !lowerHex(tp[53:55]) {
		return ""
	}
	id := tp[3:35]
	if id == "00000000000000000000000000000000" {
		return ""
	}
	return id
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
