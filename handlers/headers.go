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
)
