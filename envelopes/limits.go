package envelopes

// Limits bound what one envelope may hold (CONTRACT.md section 3). A zero or negative field
// takes its default, so the zero Limits behaves as DefaultLimits.
type Limits struct {
	MaxEnvelopeBytes int `yaml:"max_envelope_bytes"` // the whole envelope
	MaxParts         int `yaml:"max_parts"`          // parts of the message
	MaxLineItems     int `yaml:"max_line_items"`     // line items of one command
	MaxQuantity      int `yaml:"max_quantity"`       // quantity of one line
	MaxStringBytes   int `yaml:"max_string_bytes"`   // any string field that the command reads
}

// DefaultLimits returns the limits of CONTRACT.md section 3: 256 KiB, 16 parts, 100 line
// items, quantity 999, strings of 512 bytes.
func DefaultLimits() Limits {
	return Limits{
		MaxEnvelopeBytes: 256 << 10,
		MaxParts:         16,
		MaxLineItems:     100,
		MaxQuantity:      999,
		MaxStringBytes:   512,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxEnvelopeBytes <= 0 {
		l.MaxEnvelopeBytes = d.MaxEnvelopeBytes
	}
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.MaxLineItems <= 0 {
		l.MaxLineItems = d.MaxLineItems
	}
	if l.MaxQuantity <= 0 {
		l.MaxQuantity = d.MaxQuantity
	}
	if l.MaxStringBytes <= 0 {
		l.MaxStringBytes = d.MaxStringBytes
	}
	return l
}
