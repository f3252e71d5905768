// Package chaos holds cartwright's chaos test: the real binary, killed with SIGKILL at
// random moments and restarted, against a nats-server that is itself restarted, under a
// workload of every checkout action with retries, conflicts and malformed envelopes.
// Afterwards it checks CONTRACT.md section 6 over the whole run, using package commerce
// as the reference model.
//
//	go test ./chaos                          # the small run CI does (~2,000 envelopes, 3 kills)
//	go test ./chaos -chaos.full -v -timeout 30m   # the full run (20,000 envelopes, 500 contexts, 10 kills)
package chaos
