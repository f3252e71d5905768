package envelopes

// jsonString is an optional string field of the envelope and message. Unlike *string it
// costs no allocation for the values every envelope repeats, and a value of another type
// does not stop encoding/json: it is recorded (Bad) and reported by the caller, in the
// order the caller chooses, with the field's JSONPath.
type jsonString struct {
	S   string
	Set bool // present and not null
	Bad bool // present, and not a string
}

// common are the values that recur in every envelope, kept to spare an allocation.
var common = map[string]string{
	`"2.0"`: "2.0", `"message/send"`: "message/send", `"message"`: "message", `"user"`: "user",
	`"agent"`: "agent", `"data"`: "data", `"text"`: "text", `"file"`: "file",
}

func (s *jsonString) UnmarshalJSON(b []byte) error {
	*s = jsonString{}
	if string(b) == "null" {
		return nil
	}
	s.Set = true
	if v, ok := common[string(b)]; ok {
		s.S = v
		return nil
	}
	v, ok := rawString(b)
	s.S, s.Bad = v, !ok
	return nil
}

// ptr returns the string, or nil when absent.
func (s jsonString) ptr() *string {
	if !s.Set {
		return nil
	}
	v := s.S
	return &v
}
