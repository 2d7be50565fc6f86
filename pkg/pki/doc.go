// Package pki is Rampart's development PKI: a self-signed ECDSA P-256 CA that
// issues short-lived X.509-SVID-style certificates whose only URI SAN is the
// holder's SPIFFE ID (spiffe://rampart.local/...).
//
// It backs `rampart pki init|issue` and, through package pkitest, every test
// that needs real mTLS. No key material is ever committed: tests generate
// their own.
package pki
