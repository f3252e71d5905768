package envelopes

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Keys that encoding/json takes for one: equal, or equal under the folding it matches
// field names with. The canonicalizer finds them on the hot path (fingerprint.go);
// duplicateKey, on the slow path of the refusal, says where.

// foldLevel says what folding can do to a key: nothing (no upper-case letter, nothing
// but ASCII: such a key folds to its own upper-casing, so two of them fold alike only
// when they are equal), upper-case ASCII letters only, or anything (non-ASCII).
type foldLevel uint8

const (
	foldNone foldLevel = iota
	foldASCII
	foldUnicode
)

func foldingOf(key []byte) foldLevel {
	var l foldLevel
	for _, b := range key {
		l |= foldClass[b]
	}
	if l&foldUnicode != 0 {
		return foldUnicode
	}
	return l
}

// foldClass is the foldLevel of each byte: foldASCII for A-Z, foldUnicode for a byte of a
// non-ASCII character. Or-ed together, the foldUnicode bit says there was one of the
// latter. A table keeps the loop free of branches.
var foldClass = func() (t [256]foldLevel) {
	for b := 'A'; b <= 'Z'; b++ {
		t[b] = foldASCII
	}
	for b := utf8.RuneSelf; b < 256; b++ {
		t[b] = foldUnicode
	}
	return t
}()

// asciiEqualFold reports whether the ASCII keys a and b are equal without regard to case.
func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z' {
			return false
		}
	}
	return true
}

// appendFoldedKey appends key folded as encoding/json folds the names it matches without
// regard to case (its foldName): ASCII letters upper-cased, any other character replaced
// by the smallest of its Unicode simple-fold orbit, so "ſ" and "s" are both "S" and the
// Kelvin sign is "K".
func appendFoldedKey(out, key []byte) []byte {
	for i := 0; i < len(key); {
		if b := key[i]; b < utf8.RuneSelf {
			if 'a' <= b && b <= 'z' {
				b -= 'a' - 'A'
			}
			out = append(out, b)
			i++
			continue
		}
		r, n := utf8.DecodeRune(key[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

// foldRune returns the smallest rune of r's simple-fold orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// duplicateKey returns the invalid_params error of the message msg (at JSONPath base)
// whose objects hold two keys equal under folding, naming the second of the first such
// pair. It reads the keys decoded, as encoding/json does, so an escaped key is the key
// it spells.
func duplicateKey(msg []byte, base string) error {
	w := dupWalk{dec: json.NewDecoder(bytes.NewReader(msg))}
	if w.value() {
		path := base + strings.Join(w.path, "")
		if w.key == w.prev {
			return commerce.Invalid(path, "key %q appears twice in one object", clip(w.key))
		}
		return commerce.Invalid(path, "keys %q and %q differ only in case: keys are matched without regard to case, so one object holds only one of them",
			clip(w.prev), clip(w.key))
	}
	// Not reachable: the canonicalizer and this walk fold alike.
	return commerce.Invalid(base, "the message holds an object with two keys that are equal without regard to case")
}

// dupWalk looks for the first key that repeats an earlier key of its object under
// folding. path holds the steps to the value being read (".key", "['key']", "[i]"),
// joined only once one is found, so that a deep message costs no more than its length.
type dupWalk struct {
	dec       *json.Decoder
	path      []string
	key, prev string // the repeating key and the earlier one
}

// value reads one value and reports whether it found a repeated key in it, leaving path
// at that key.
func (w *dupWalk) value() bool {
	tok, err := w.dec.Token()
	if err != nil {
		return false
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]string{}
		for w.dec.More() {
			t, err := w.dec.Token()
			k, isKey := t.(string)
			if err != nil || !isKey {
				return false
			}
			w.path = append(w.path, memberPath("", k))
			f := string(appendFoldedKey(nil, []byte(k)))
			if p, dup := seen[f]; dup {
				w.key, w.prev = k, p
				return true
			}
			seen[f] = k
			if w.value() {
				return true
			}
			w.path = w.path[:len(w.path)-1]
		}
		_, _ = w.dec.Token() // }
	case json.Delim('['):
		for i := 0; w.dec.More(); i++ {
			w.path = append(w.path, index("", i))
			if w.value() {
				return true
			}
			w.path = w.path[:len(w.path)-1]
		}
		_, _ = w.dec.Token() // ]
	}
	return false
}

// memberPath is the JSONPath of member key of the object at path: path.key for a key of
// letters, digits and underscores, else path['key'] with ' and \ escaped. A long key is
// clipped.
func memberPath(path, key string) string {
	plain := key != "" && !('0' <= key[0] && key[0] <= '9')
	for i := 0; i < len(key) && plain; i++ {
		c := key[i]
		plain = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
	}
	if plain && len(key) <= 64 {
		return path + "." + key
	}
	return path + "['" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(clip(key)) + "']"
}
