// Package authtest is the one test double of the auth service: an
// in-process AuthService and KeyService speaking the real rampart.auth.v1
// protocol over real mTLS (pkitest certificates).
//
// It verifies keys it issued (pkg/apikey format, salted hashes, key
// states), mints real Ed25519 principal assertions with pkg/principal and
// requires them on the methods auth requires them on, optionally enforces a
// caller allow-list with pkg/authz, and serves both event streams
// (WatchRevocations, WatchTenantEvents) with cursors. Tests can revoke and
// rotate keys out of band, publish events, drop or refuse streams, and read
// what the service under test asked for.
//
// auth's own implementation lives in another module's internal tree and
// cannot be imported by other services; the e2e tests run the real one.
package authtest
