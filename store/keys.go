package store

import "encoding/binary"

const (
	tagState  = 'c'
	tagIdem   = 'i'
	tagSeq    = 'q'
	tagExpiry = 'x'
	tagOutbox = 'o'
	tagAside  = 'a'
	tagMeta   = 'm'
	tagOpen   = 'e'
	tagMark   = 'w'

	tagStockCount  = 'v'
	tagReservation = 'r'

	tagMockPayment = 'p'
	tagMockByTime  = 'y'
)

func stateKey(tenant, context string) []byte {
	k := make([]byte, 0, 2+len(tenant)+len(context))
	k = append(k, tagState)
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, context...)
}

func idemKey(tenant, messageID string) []byte {
	k := make([]byte, 0, 2+len(tenant)+len(messageID))
	k = append(k, tagIdem)
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, messageID...)
}

func seqKey(seq uint64) []byte {
	k := make([]byte, 9)
	k[0] = tagSeq
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

func expiryKey(atNanos int64, recordKey []byte) []byte {
	k := make([]byte, 10, 10+len(recordKey))
	k[0] = tagExpiry
	binary.BigEndian.PutUint64(k[1:], uint64(atNanos))
	k[9] = 0
	return append(k, recordKey...)
}

func outboxKey(seq uint64) []byte {
	k := make([]byte, 9)
	k[0] = tagOutbox
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

// asideKey is where the outbox entry under outboxKey(seq) is kept once set aside.
func asideKey(outbox []byte) []byte { return append([]byte{tagAside}, outbox[1:]...) }

// watermarkKey is the inbound partition's committed stream sequence (see Committed).
func watermarkKey(partition int) []byte {
	return binary.BigEndian.AppendUint16([]byte{tagMark}, uint16(partition))
}

func metaKey(name string) []byte { return append([]byte{tagMeta}, name...) }

// tagBounds returns the bounds of every key starting with the one-byte tag.
func tagBounds(tag byte) (lower, upper []byte) { return []byte{tag}, []byte{tag + 1} }

// openKey indexes an open checkout by its partition and expiry time.
func openKey(partition int, expiresNanos int64, tenant, context string) []byte {
	k := make([]byte, 11, 12+len(tenant)+len(context))
	k[0] = tagOpen
	binary.BigEndian.PutUint16(k[1:], uint16(partition))
	binary.BigEndian.PutUint64(k[3:], uint64(expiresNanos))
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, context...)
}

// stockCountKey is a partition's counter of what it holds of an item (key: tenant 0x00
// item, see Stock).
func stockCountKey(key string, partition int) []byte {
	k := make([]byte, 0, 3+len(key))
	k = append(k, tagStockCount)
	k = append(k, key...)
	return binary.BigEndian.AppendUint16(k, uint16(partition))
}

// reservationKey is a checkout's reservation.
func reservationKey(tenant, checkoutID string) []byte {
	k := make([]byte, 0, 2+len(tenant)+len(checkoutID))
	k = append(k, tagReservation)
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, checkoutID...)
}
