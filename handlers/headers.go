package handlers

// Header names of CONTRACT.md sections 2 and 8.
const (
	HdrMsgID           = "Nats-Msg-Id"
	HdrReplyTo         = "A2A-Reply-To"
	HdrTraceParent     = "traceparent"
	HdrTraceState      = "tracestate"
	HdrMessageID       = "A2A-Message-Id"
	HdrStatus          = "A2A-Status"
	HdrErrorCode       = "A2A-Error-Code"
	HdrReplayed        = "A2A-Replayed"
	HdrError           = "A2A-Error"
	HdrOriginalSubject = "A2A-Original-Subject"
	HdrOriginalSeq     = "A2A-Original-Seq"
	HdrAttempts        = "A2A-Attempts"
	HdrFailedAt        = "A2A-Failed-At"
	HdrEventType       = "A2A-Event-Type"
	HdrTenant          = "A2A-Tenant"

	// HdrRedacted is "true" on a dead letter whose body had credential values replaced
	// by envelopes.RedactionMarker.
	HdrRedacted = "A2A-Redacted"
	// HdrTruncated is "true" on a dead letter whose body was cut to fit in one NATS
	// message; HdrOriginalSize is then the size of the request, in bytes.
	HdrTruncated    = "A2A-Truncated"
	HdrOriginalSize = "A2A-Original-Size"
	// HdrRedrive is set by `cartwright dlq replay` on the request it republishes: the
	// sequence of the dead letter it came from. A request that fails again is then
	// dead-lettered again, although its messageId already was.
	HdrRedrive = "A2A-Redrive"
)
