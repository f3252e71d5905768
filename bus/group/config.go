package group

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// DefaultLeaseTTL is how long a lease outlives its holder's last renewal. With the
// renewal every third of it and the server's expiry check, a dead worker's partitions
// move within 10 s (CONTRACT.md section 10).
const DefaultLeaseTTL = 6 * time.Second

// Config says how a member joins its group. The zero value is valid once WorkerID and
// Partitions are set; every other field has a default.
type Config struct {
	// Bucket is the key-value bucket the group lives in. Default: BucketFor("a2a").
	Bucket string
	// WorkerID names this worker in the bucket, logs and metrics. It must be stable
	// across restarts and unique among live workers; letters, digits, '-', '_' and '='
	// in tokens separated by single dots.
	WorkerID string
	// Partitions is the number of partitions of the inbound stream. Every member of a
	// group must agree on it.
	Partitions int
	// LeaseTTL is the bucket's max age: a key not rewritten for this long vanishes.
	// Every member of a group must agree on it; Join refuses a bucket made with another.
	LeaseTTL time.Duration
	// RenewInterval is how often the member rewrites its keys. Default LeaseTTL/3.
	// REQUIRES: RenewInterval < LeaseTTL - SafetyMargin.
	RenewInterval time.Duration
	// SafetyMargin is taken off LeaseTTL for local validity, to cover the difference
	// between this process's clock and the server's over one TTL and the time the server
	// takes to expire a key late. Default LeaseTTL/6.
	SafetyMargin time.Duration
	// ReleaseTimeout bounds how long a member waits for the caller to confirm a
	// Releasing event before it releases the lease anyway. Default LeaseTTL.
	ReleaseTimeout time.Duration
	// Replicas is the bucket's replica count (R3 on a clustered NATS). Default 1.
	Replicas int
	// MaxBytes bounds the bucket's size (0: no bound). An account whose JetStream limits
	// require a size on every stream refuses the bucket without one.
	MaxBytes int64
	// Logger receives ownership changes. Default slog.Default().
	Logger *slog.Logger
}

// BucketFor is the default bucket name for a subject prefix: "a2a" gives "A2A_GROUP",
// next to the A2A_IN stream of the same prefix.
func BucketFor(prefix string) string { return strings.ToUpper(prefix) + "_GROUP" }

var (
	workerIDRE = regexp.MustCompile(`^[A-Za-z0-9_=-]+(\.[A-Za-z0-9_=-]+)*$`)
	bucketRE   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func (c *Config) setDefaults() {
	if c.Bucket == "" {
		c.Bucket = BucketFor("a2a")
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.RenewInterval == 0 {
		c.RenewInterval = c.LeaseTTL / 3
	}
	if c.SafetyMargin == 0 {
		c.SafetyMargin = c.LeaseTTL / 6
	}
	if c.ReleaseTimeout == 0 {
		c.ReleaseTimeout = c.LeaseTTL
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every problem of a defaulted Config at once.
func (c *Config) Validate() error {
	var errs []error
	if !workerIDRE.MatchString(c.WorkerID) {
		errs = append(errs, fmt.Errorf("group: worker id %q: want letters, digits, '-', '_', '=' in dot-separated tokens", c.WorkerID))
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("group: partitions %d: want at least 1", c.Partitions))
	}
	if !bucketRE.MatchString(c.Bucket) {
		errs = append(errs, fmt.Errorf("group: bucket %q: want letters, digits, '-', '_'", c.Bucket))
	}
	// The server refuses subject delete markers under one second, and the markers are
	// what lets watchers see an expired key at once.
	if c.LeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("group: lease TTL %v: want at least 1s", c.LeaseTTL))
	}
	if c.SafetyMargin < 0 || c.RenewInterval <= 0 || c.RenewInterval >= c.LeaseTTL-c.SafetyMargin {
		errs = append(errs, fmt.Errorf("group: renew interval %v, safety margin %v, lease TTL %v: want 0 < renew < TTL - margin",
			c.RenewInterval, c.SafetyMargin, c.LeaseTTL))
	}
	if c.ReleaseTimeout < 0 {
		errs = append(errs, fmt.Errorf("group: release timeout %v: want >= 0", c.ReleaseTimeout))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("group: replicas %d: want 1 to 5", c.Replicas))
	}
	return errors.Join(errs...)
}
