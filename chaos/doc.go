// Package chaos holds cartwright's chaos tests: the real binary, killed with SIGKILL at
// random moments and restarted, against a nats-server that is itself restarted, under a
// workload of every checkout action with retries, conflicts and malformed envelopes.
// Afterwards they check CONTRACT.md section 6 over the whole run, using package commerce
// as the reference model.
//
// TestChaos runs one worker. TestGroupChaos runs a group of three (CONTRACT.md section
// 10) on a three-node cluster, every stream and bucket R3, with the changelog on and the
// stock in its bucket: one worker SIGKILLed, another SIGTERMed, both restarted, a NATS
// node restarted, then buyers racing across the group for the last units of an item.
// TestGroupStartTogether starts two workers at the same moment on an empty server;
// TestGroupTakeover times how long a worker's partitions take to move after SIGKILL and
// after SIGTERM.
//
//	go test ./chaos                          # the small runs CI does (~2,000 envelopes, 3 kills; the group: ~2,000, 1 round)
//	go test ./chaos -chaos.full -v -timeout 30m   # one worker at full size (20,000 envelopes, 500 contexts, 10 kills)
//	go test ./chaos -run TestGroupChaos -chaos.group.full -v -timeout 30m   # the group at full size (20,000 envelopes, 5 rounds)
//	go test ./chaos -run TestGroupTakeover -chaos.takeover 10 -v   # 10 takeovers after SIGKILL and 10 after SIGTERM, median and max
//
// -chaos.seed N repeats a run's workload and schedule. A failed group run keeps its
// workers' logs in $TMPDIR/cartwright-group-chaos-<seed>.
package chaos
