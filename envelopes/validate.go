package envelopes

import (
	"encoding/json"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Validate checks a decoded envelope against the subject it arrived on
// (a2a.in.<tenant>.<contextID>) and against lim, and locates the data part that carries the
// command (env.DataPart, env.Data). In this order: the message must not name another tenant
// (tenant_mismatch) or another context (context_mismatch), its role must be "user", it holds
// at most lim.MaxParts parts of kind text, data or file, and exactly one of them is a data
// part whose data is an object (invalid_params) — or two, one with an action, the other
// for PaymentPart (UCP's A2A completion).
//
// REQUIRES: env was returned by Decode without an error.
func Validate(env *Envelope, tenant, contextID string, lim Limits) error {
	lim = lim.withDefaults()
	base := env.base
	if env.Tenant != nil && *env.Tenant != tenant {
		return refused(commerce.CodeTenantMismatch, base+".metadata.tenant",
			"the message names tenant %q but was sent to tenant %q", clip(*env.Tenant), tenant)
	}
	if env.ContextID != nil && *env.ContextID != contextID {
		return refused(commerce.CodeContextMismatch, base+".contextId",
			"the message names context %q but was sent to context %q", clip(*env.ContextID), contextID)
	}
	if env.Role != "user" {
		return commerce.Invalid(base+".role", `role must be "user"`)
	}
	if len(env.Parts) > lim.MaxParts {
		return commerce.Invalid(base+".parts", "a message holds at most %d parts, this one has %d",
			lim.MaxParts, len(env.Parts))
	}
	env.DataPart, env.Data = -1, nil
	env.PaymentPart, env.PaymentData = -1, nil
	var data []int
	for i, p := range env.Parts {
		switch p.Kind {
		case "text", "file":
		case "data":
			data = append(data, i)
		case "":
			return commerce.Invalid(index(base+".parts", i)+".kind", "kind is required")
		default:
			return commerce.Invalid(index(base+".parts", i)+".kind",
				"kind must be text, data or file, not %q", clip(p.Kind))
		}
	}
	for _, i := range data {
		if firstByte(env.Parts[i].Data) != '{' {
			return commerce.Invalid(index(base+".parts", i)+".data", "data must be an object")
		}
	}
	switch len(data) {
	case 1:
		env.DataPart = data[0]
	case 2:
		// UCP's A2A binding pays with two data parts: {"action":"complete_checkout"} and
		// {"a2a.ucp.checkout.payment": …}. The one with the action carries the command;
		// Normalize checks that the other goes with it.
		a, b := hasAction(env.Parts[data[0]].Data), hasAction(env.Parts[data[1]].Data)
		if a == b {
			return commerce.Invalid(base+".parts",
				"exactly one data part must carry the command; the message has 2 and %s", actionCount(a))
		}
		env.DataPart, env.PaymentPart = data[0], data[1]
		if b {
			env.DataPart, env.PaymentPart = data[1], data[0]
		}
		env.PaymentData = env.Parts[env.PaymentPart].Data
	default:
		return commerce.Invalid(base+".parts",
			"exactly one data part must carry the command (or two: {\"action\":\"complete_checkout\"} and "+
				"the payment under %s); the message has %d data parts", KeyPayment, len(data))
	}
	env.Data = env.Parts[env.DataPart].Data
	return nil
}

// hasAction reports whether the data object raw has an action that is not null.
func hasAction(raw json.RawMessage) bool {
	var d struct {
		Action json.RawMessage `json:"action"`
	}
	return json.Unmarshal(raw, &d) == nil && !isNull(d.Action)
}

func actionCount(both bool) string {
	if both {
		return "both name an action"
	}
	return "neither names an action"
}
