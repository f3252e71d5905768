// Package app assembles a cartwright process from its configuration: it builds what the
// configuration describes (package config describes, it builds nothing) and wires the
// packages that do the work.
//
//   - Envs, Wire: each tenant's providers (built-in, HTTP adapters with their secrets read
//     from the environment, the AP2 mandate verifier), for handlers.Options.Envs.
//   - WithStock, BuiltinStock: where the built-in stock is kept, in the store or in the
//     JetStream bucket (providers.KVInventory), as config.Config.Stock says.
//   - StoreOptions: the store sized as config.Store says.
//   - Process: Open (the store), Connect (handler, worker and bridge over a NATS
//     connection), Run, Close; what `cartwright serve` runs and testenv starts in tests.
//   - TuneMalloc: the process's malloc policy, called by the commands that run a store.
//
// Data still flows bus → envelopes → handlers → (commerce, providers) → store → bus; app
// sits above all of them and nothing but the commands and testenv imports it.
package app
