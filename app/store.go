package app

import (
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/store"
)

// StoreOptions sizes the store as the configuration says.
func StoreOptions(c config.Store) store.Options {
	return store.Options{CacheBytes: int64(c.CacheMiB) << 20, MemTableBytes: int64(c.MemTableMiB) << 20}
}
