// Package authtest is an in-process stand-in for the auth service, for
// keyvault's tests: a real gRPC server over real mTLS speaking auth's proto
// (AuthService VerifyKey, WatchTenantEvents, GetSigningKeys; KeyService
// GetKey, RotateKey) with auth's allow-list for keyvault. It really checks
// keys (pkg/apikey format, salted hashes, constant-time compare, states),
// signs real Ed25519 principal assertions and requires them on KeyService.
// auth's own implementation lives in another module's internal tree and
// cannot be imported here.
package authtest
