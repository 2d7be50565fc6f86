package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// GenesisHash is the prev_hash of the first record of every chain.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// AuditHash returns hex(SHA-256(prev_hash ‖ canonical(record))). The
// canonical form is every field length-prefixed (8-byte big endian) in a fixed
// order, so no two different records serialise the same way.
func AuditHash(r AuditRecord) string {
	h := sha256.New()
	var n [8]byte
	put := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	putInt := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v)) //nolint:gosec // two's-complement bits, not a value conversion
		h.Write(n[:])
	}
	put(r.PrevHash)
	put(r.TenantID)
	putInt(r.Seq)
	putInt(nanos(r.At))
	put(r.Actor)
	put(r.Action)
	put(r.Target)
	put(r.Result)
	put(r.RequestID)
	put(r.SourceIP)
	return hex.EncodeToString(h.Sum(nil))
}

// ChainResult is the outcome of verifying one chain.
type ChainResult struct {
	OK          bool
	Checked     int64
	FirstBadSeq int64
	Reason      string
}

// VerifyChain checks records given in ascending seq order.
func VerifyChain(records []AuditRecord) ChainResult {
	prev := GenesisHash
	var want int64 = 1
	for _, r := range records {
		switch {
		case r.Seq != want:
			return ChainResult{Checked: want - 1, FirstBadSeq: want, Reason: "record missing or out of order"}
		case r.PrevHash != prev:
			return ChainResult{Checked: want - 1, FirstBadSeq: r.Seq, Reason: "prev_hash does not match the previous record"}
		case AuditHash(r) != r.Hash:
			return ChainResult{Checked: want - 1, FirstBadSeq: r.Seq, Reason: "content does not match its hash"}
		}
		prev = r.Hash
		want++
	}
	return ChainResult{OK: true, Checked: want - 1}
}
