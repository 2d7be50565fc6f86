// Package apikey defines Rampart's API key format and the salted hashing
// used to store keys.
//
// A key is "rk_" + 12-character key id + 43-character secret + 6-character
// checksum, all base62. The secret carries at least 256 bits from
// crypto/rand. The checksum is CRC32 (IEEE) of everything before it, base62
// encoded, so the edge can reject a mistyped key without a lookup and secret
// scanners can recognise leaked keys with few false positives.
//
// Only a per-key salted SHA-256 of the secret is ever stored; verification
// compares in constant time.
package apikey
