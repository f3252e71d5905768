package envelopes

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Objects are decoded in one pass into typed trees whose leaves are json.RawMessage: a leaf
// is then checked by the helpers of fields.go, with its exact JSONPath, so encoding/json
// only refuses a container of the wrong type (an object where an array belongs, …). When
// it does, it names the field by its JSON names ("line_items.item") but without the array
// indices on the way; locate finds them, on this slow path only.

// decodeTree decodes the object raw, at JSONPath at, into the typed tree v.
func decodeTree(raw json.RawMessage, v any, at, name string) error {
	if firstByte(raw) != '{' {
		return commerce.Invalid(at, "%s must be an object", name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return locate(raw, v, at, err)
	}
	return nil
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// locate turns err, met while decoding raw (the JSON at path at) into v, into
// invalid_params at the JSONPath of the offending value.
func locate(raw json.RawMessage, v any, at string, err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return commerce.Invalid(at, "must be an object")
	}
	path, name := at, "value"
	t := reflect.TypeOf(v)
	cur := raw
	for seg := range strings.SplitSeq(te.Field, ".") {
		if seg == "" {
			break
		}
		f, ok := fieldNamed(deref(t), seg)
		if !ok {
			break
		}
		path, name = join(path, seg), seg
		sub, ok := memberValue(cur, seg)
		if !ok {
			break
		}
		ft := deref(f.Type)
		if ft.Kind() != reflect.Slice || ft == rawMessageType {
			cur, t = sub, ft
			continue
		}
		var elems []json.RawMessage
		if json.Unmarshal(sub, &elems) != nil {
			break // the array itself is of the wrong type
		}
		i := badElement(elems, ft.Elem())
		if i < 0 {
			break
		}
		path = index(path, i)
		name = seg + path[strings.LastIndexByte(path, '['):]
		cur, t = elems[i], ft.Elem()
	}
	return commerce.Invalid(path, "%s must be %s", name, jsonKind(te.Type))
}

// badElement returns the index of the first element that does not decode into type t.
func badElement(elems []json.RawMessage, t reflect.Type) int {
	for i, e := range elems {
		if json.Unmarshal(e, reflect.New(t).Interface()) != nil {
			return i
		}
	}
	return -1
}

// memberValue returns the value of key in the object raw, matching keys as encoding/json does:
// exactly, else without regard to case.
func memberValue(raw json.RawMessage, key string) (json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldNamed returns the field of struct type t that has the JSON name name.
func fieldNamed(t reflect.Type, name string) (reflect.StructField, bool) {
	if t.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for _, f := range reflect.VisibleFields(t) {
		if !f.Anonymous && f.IsExported() && jsonName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}
