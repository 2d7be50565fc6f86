// Package keyvaulttest is the one test double of keyvault: an in-process
// SecretsService and KmsService speaking the real rampart.keyvault.v1
// protocol over real mTLS (pkitest certificates), with real principal
// verification.
//
// Like keyvault it takes the tenant only from the verified principal
// (another tenant's secret is NotFound), can admit one service identity to
// its own /{env}/{service}/* names only (keyvault's default policy), and
// really wraps data keys: one AES-256-GCM key-encryption key per tenant,
// the encryption context bound as additional data, and Shred destroys a
// tenant's key like keyvault's crypto-shred. KMS is also usable in-process
// (Direct) by code that takes a KMS interface, and Gated holds each of
// its unwraps until the test releases it (a Forget while a key loads).
//
// It also holds the fixtures of the secret read's hand-written answer
// codecs (keyvault's encoder, the edge's wire-to-JSON decoder): one table
// of awkward GetSecretValueResponse messages, random ones, the benchmark's
// message and proto's wire form of any of them (SecretValueCases,
// ForEachSecretValue, BenchSecretValue, SecretValueWire).
//
// keyvault's own implementation lives in another module's internal tree and
// cannot be imported by other services; the e2e tests run the real one.
package keyvaulttest
