// Package signing manages auth's Ed25519 principal signing keys: generated at
// first start, rotated on a schedule with an overlap during which the old
// public key is still published, and shared by every replica through the
// store.
//
// Storage choice: private keys live in the database sealed with AES-256-GCM
// (AAD = kid) under a 32-byte key-encryption key held in a separate file
// (default $DATA_DIR/signing-kek, created 0600). A copy of the database alone
// — a backup, a PostgreSQL replica — does not reveal a signing key; replicas
// sharing a PostgreSQL store must share the KEK file (mount it as a secret).
package signing
