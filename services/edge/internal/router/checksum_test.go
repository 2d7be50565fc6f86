package router_test

import (
	"hash/crc32"

	"github.com/rampart-platform/rampart/pkg/apikey"
)

// withChecksum appends the checksum to head ("rk_" + id + secret) by trying
// candidates through apikey.Parse: the package does not export its
// checksum, so a forged key is built the way an attacker would, by knowing
// the algorithm (CRC32 in base62).
func withChecksum(head string) (string, bool) {
	sum := crc32Base62(head)
	k := head + sum
	if _, err := apikey.Parse(k); err != nil {
		return "", false
	}
	return k, true
}

func crc32Base62(s string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	n := crc32IEEE(s)
	out := make([]byte, apikey.ChecksumLen)
	for i := apikey.ChecksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[n%62]
		n /= 62
	}
	return string(out)
}

func crc32IEEE(s string) uint32 { return crc32.ChecksumIEEE([]byte(s)) }
