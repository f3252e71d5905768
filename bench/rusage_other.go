//go:build !unix && !windows

package bench

import "time"

// rusageSelf has nothing to read here: no peak resident set and no CPU time.
func rusageSelf() (maxRSS int64, cpu time.Duration, ok bool) { return 0, 0, false }
