// Package authtest runs a small in-process AuthService for the edge's tests:
// it speaks the real rampart.auth.v1 protocol over real mTLS (pkitest
// certificates), verifies keys it was given, mints real Ed25519 principal
// assertions with pkg/principal, checks them on WhoAmI with pkg/principal's
// interceptor, and streams revocation events with cursors. It counts
// VerifyKey calls and can drop its streams to simulate a broken connection.
//
// It is a test double of another team's service, not of the edge's code;
// the lead's e2e tests run the edge against the real auth service.
package authtest
