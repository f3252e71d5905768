// Package group makes several cartwright workers one group: each partition of the
// inbound stream has one owner at a time, partitions spread evenly over the live
// workers, a worker that leaves hands its partitions over, one that dies loses them
// within a lease TTL, and a worker that lost a partition can tell, without asking the
// server, that it must not publish or acknowledge anything more for it.
//
// # The bucket
//
// Everything lives in one JetStream key-value bucket (default A2A_GROUP), history 1,
// file storage, max age = the lease TTL, with subject delete markers so that watchers
// see a key expire:
//
//	members.<worker-id>  {"worker","instance","partitions"}  one per live worker
//	lease.<p>            {"worker","instance"}               one per owned partition
//
// Every key is rewritten (compare-and-set on its last revision) every RenewInterval; a
// key not rewritten for a TTL vanishes. The live members are the members.* keys; every
// member computes Assign over them and goes toward it: it acquires the free leases
// assigned to it (create, which fails if the key exists) and releases those assigned to
// another (Releasing event, Done, then delete on the last revision).
//
// # Epochs and fencing
//
// A lease's epoch is the revision of the create that acquired it: revisions only grow,
// so a later owner always has a larger epoch. Valid(p, epoch) is true until the send
// time of the last confirmed write + TTL - SafetyMargin, on the monotonic clock.
//
// INVARIANT: renew < TTL - margin, so a live member renews before its leases turn
// invalid; TTL - margin < TTL, so a lease turns invalid at its holder before the server
// can give it to another.
//
// Valid is a check at one instant: a pause between a check and the write it guards can
// still let a stale write out. What a stale owner must never get in (the partition's
// changelog) is fenced on the server with the epoch; see docs/workers.md.
package group
