package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nats-io/nats.go"
	"go.yaml.in/yaml/v3"

	"github.com/cartwright-dev/cartwright/envelopes"
)

// The output formats of client commands.
const (
	formatJSON  = "json"
	formatTable = "table"
	formatYAML  = "yaml"
)

func checkFormat(f string) error {
	switch f {
	case formatJSON, formatTable, formatYAML:
		return nil
	}
	return usageErr("--format %q: want json, table or yaml", f)
}

// writeReply prints what the reply carries, in format, and maps it to the exit status: nil
// for a success reply, exit 1 for an error reply. What it prints is the UCP resource of a
// success (the checkout or the order, not the JSON-RPC envelope around it), or the
// JSON-RPC error object of an error.
func writeReply(w io.Writer, format string, msg *nats.Msg) error {
	payload, failed, err := replyPayload(msg.Data)
	if err != nil {
		w.Write(msg.Data)
		fmt.Fprintln(w)
		return &exitError{code: exitFailure, err: fmt.Errorf("unreadable reply: %w", err)}
	}
	switch format {
	case formatTable:
		r, err := envelopes.DecodeReply(msg.Data)
		if err != nil {
			return &exitError{code: exitFailure, err: fmt.Errorf("unreadable reply: %w", err)}
		}
		writeTable(w, r)
	case formatYAML:
		b, err := jsonToYAML(payload)
		if err != nil {
			return &exitError{code: exitFailure, err: fmt.Errorf("reply as YAML: %w", err)}
		}
		w.Write(b)
	default:
		var out bytes.Buffer
		json.Indent(&out, payload, "", "  ") // payload is valid JSON: it was decoded
		out.WriteByte('\n')
		w.Write(out.Bytes())
	}
	if failed {
		// The error object is on standard output already; main prints nothing more.
		return &exitError{code: exitErrReply, err: errors.New("")}
	}
	return nil
}

// replyPayload returns the JSON that a reply carries: the error object of an error, else
// the resource of the first data part (the value of a2a.ucp.checkout or a2a.ucp.order, or
// the whole data object when it holds neither). The bytes are the worker's own, so fields
// this client does not know are kept.
func replyPayload(b []byte) (payload json.RawMessage, failed bool, err error) {
	var r struct {
		Result *struct {
			Parts []struct {
				Data map[string]json.RawMessage `json:"data"`
			} `json:"parts"`
		} `json:"result"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, false, err
	}
	if len(r.Error) > 0 && string(r.Error) != "null" {
		return r.Error, true, nil
	}
	if r.Result == nil {
		return nil, false, errors.New("neither result nor error")
	}
	for _, p := range r.Result.Parts {
		if p.Data == nil {
			continue
		}
		for _, key := range []string{"a2a.ucp.checkout", "a2a.ucp.order"} {
			if v, ok := p.Data[key]; ok {
				return v, false, nil
			}
		}
		whole, err := json.Marshal(p.Data)
		return whole, false, err
	}
	return nil, false, errors.New("the result has no data part")
}

// jsonToYAML converts JSON to block-style YAML, keeping the order of the keys.
func jsonToYAML(b []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil { // JSON is YAML
		return nil, err
	}
	blockStyle(&doc)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// blockStyle drops the flow style and the quotes that the JSON source gave n. Strings that
// would read back as something else ("94105", "true") keep their quotes: the encoder
// quotes a !!str whose plain form resolves to another tag.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}
