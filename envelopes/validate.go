package envelopes

import (
	"github.com/cartwright-dev/cartwright/commerce"
)

// Validate checks a decoded envelope against the subject it arrived on
// (a2a.in.<tenant>.<contextID>) and against lim, and locates the data part that carries the
// command (env.DataPart, env.Data). In this order: the message must not name another tenant
// (tenant_mismatch) or another context (context_mismatch), its role must be "user", it holds
// at most lim.MaxParts parts of kind text, data or file, and exactly one of them is a data
// part whose data is an object (invalid_params).
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
	dataParts := 0
	for i, p := range env.Parts {
		switch p.Kind {
		case "text", "file":
		case "data":
			dataParts++
			if env.DataPart < 0 {
				env.DataPart, env.Data = i, p.Data
			}
		case "":
			return commerce.Invalid(index(base+".parts", i)+".kind", "kind is required")
		default:
			return commerce.Invalid(index(base+".parts", i)+".kind",
				"kind must be text, data or file, not %q", clip(p.Kind))
		}
	}
	if dataParts != 1 {
		env.DataPart, env.Data = -1, nil
		return commerce.Invalid(base+".parts",
			"exactly one data part must carry the command; the message has %d", dataParts)
	}
	if firstByte(env.Data) != '{' {
		at := index(base+".parts", env.DataPart) + ".data"
		env.DataPart, env.Data = -1, nil
		return commerce.Invalid(at, "data must be an object")
	}
	return nil
}
