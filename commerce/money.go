package commerce

import (
	"math"
	"math/bits"
)

// Money is integer minor units in an int64, bounded so that no sum the domain makes can
// wrap. The bounds are checked where amounts enter: the configuration and the HTTP
// adapters of package providers refuse them, and the provider calls of calls.go check every
// answer again whatever the provider. With the default limits the largest sums are far
// from int64's 9.2 × 10^18:
//
//	unit price, shipping option, fixed discount   ≤ MaxPrice                   10^12
//	a line: price × quantity                      ≤ 10^12 × 999              ≈ 10^15
//	subtotal: 100 lines                           ≤ 100 × 999 × 10^12        ≈ 10^17
//	tax                                           ≤ MaxAmount                  10^18
//	total: subtotal + discount + shipping + tax   refused above MaxAmount      10^18
//
// A tenant may raise its limits past the defaults, so every product and sum is checked all
// the same (mulAmount, addAmount, MulDivHalfUp): one past MaxAmount is an internal error
// that names it, never a wrapped or negative total. An out-of-bounds amount is never the
// agent's fault (it comes from the merchant's data), hence internal.
const (
	// MaxPrice bounds a unit price, a shipping option's amount and a fixed discount:
	// 10^12 minor units (ten billion in a currency with cents).
	MaxPrice = 1_000_000_000_000
	// MaxAmount bounds every amount of a checkout or an order (a line's total, the
	// subtotal, tax, the total, what is charged): 10^18 minor units. Two amounts within
	// it never overflow int64 when added.
	MaxAmount = 1_000_000_000_000_000_000
)

// The helpers below report a bound crossed with a bool, so that the common path builds
// no message and allocates nothing; the caller names what crossed it (errAmount, errSum).

// inBounds reports whether 0 <= v <= max.
func inBounds(v, max int64) bool { return 0 <= v && v <= max }

// addAmount returns a+b, and false when the sum is not within ±MaxAmount (an int64
// overflow included).
func addAmount(a, b int64) (int64, bool) {
	s := a + b
	if (s > a) != (b > 0) || s > MaxAmount || s < -MaxAmount {
		return 0, false
	}
	return s, true
}

// mulAmount returns a×b, and false when the product is not within ±MaxAmount. It takes
// any int64s: the product is formed in 128 bits.
func mulAmount(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(magnitude(a), magnitude(b))
	if hi != 0 || lo > MaxAmount {
		return 0, false
	}
	if (a < 0) != (b < 0) {
		return -int64(lo), true
	}
	return int64(lo), true
}

// outOfBounds is the internal error of an amount past the bounds above.
func outOfBounds(format string, args ...any) *Error {
	return E(KindInternal, CodeInternalError, format, args...)
}

// errAmount is the error of an amount v that is not between 0 and max; what names it.
func errAmount(what string, v, max int64) *Error {
	return outOfBounds("%s is %d, not between 0 and %d minor units", what, v, max)
}

// errSum is the error of a sum or product, a op b, past MaxAmount; what names it.
func errSum(what string, a int64, op string, b int64) *Error {
	return outOfBounds("%s would be %d %s %d, past ±%d minor units", what, a, op, b, int64(MaxAmount))
}

// magnitude is |v| as a uint64, which holds even |math.MinInt64|.
func magnitude(v int64) uint64 {
	if v < 0 {
		return uint64(-v) // -MinInt64 wraps to itself, whose uint64 is 2^63: right
	}
	return uint64(v)
}

// MulDivHalfUp returns a×b/d rounded half away from zero (half up for the non-negative
// amounts of money it is used on): MulDivHalfUp(4500, 825, 10000) is 371 (371.25),
// MulDivHalfUp(10300, 825, 10000) is 850 (849.75). The product is formed in 128 bits, so
// it cannot wrap; ok is false when d is not positive or the result does not fit in an
// int64, which never happens for 0 <= a and 0 <= b <= d (money times a percentage or basis
// points).
func MulDivHalfUp(a, b, d int64) (q int64, ok bool) {
	if d <= 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(magnitude(a), magnitude(b))
	ud := uint64(d)
	if hi >= ud {
		return 0, false // the quotient needs more than 64 bits
	}
	uq, r := bits.Div64(hi, lo, ud)
	if r >= ud-r { // 2r >= d, without overflowing 2r
		if uq == math.MaxUint64 {
			return 0, false
		}
		uq++
	}
	neg := (a < 0) != (b < 0)
	limit := uint64(math.MaxInt64)
	if neg {
		limit++ // -2^63 is an int64
	}
	if uq > limit {
		return 0, false
	}
	if neg {
		return -int64(uq), true
	}
	return int64(uq), true
}

// MulDivDown returns a×b/d rounded toward zero: MulDivDown(3150, 20, 100) is 630,
// MulDivDown(3333, 10, 100) is 333 (333.3). It is what a tenant with truncating discounts
// takes off. ok is false when d is not positive or the result does not fit in an int64.
func MulDivDown(a, b, d int64) (q int64, ok bool) {
	if d <= 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(magnitude(a), magnitude(b))
	ud := uint64(d)
	if hi >= ud {
		return 0, false
	}
	uq, _ := bits.Div64(hi, lo, ud)
	neg := (a < 0) != (b < 0)
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if uq > limit {
		return 0, false
	}
	if neg {
		return -int64(uq), true
	}
	return int64(uq), true
}
