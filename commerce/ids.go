package commerce

import (
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"strings"
)

// idEncoding is lowercase-friendly base32 without padding: ids are safe in URLs, NATS
// tokens and file names alike.
var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID derives the n-th id with the given prefix from seed: prefix + "_" + the first 20
// characters of the lowercase, unpadded base32 of sha256(prefix|seed|n). Ids are derived,
// never random, so that applying the same command to the same state twice (a redelivery,
// the chaos test's reference model) produces the same ids.
//
// Apply uses NewID("chk", env.Seed, 0) for a new checkout and NewID("ord", env.Seed, 0)
// for an order.
func NewID(prefix, seed string, n int) string {
	sum := sha256.Sum256([]byte(prefix + "|" + seed + "|" + strconv.Itoa(n)))
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(sum[:]))[:20]
}
