// Package server is keyvault's gRPC surface: SecretsService, KmsService and
// ObservabilityService handlers that only translate between protobuf and
// the vault package, plus the one place where domain errors become gRPC
// status codes. The tenant comes only from the verified principal; the
// caller identity only from the mTLS peer certificate.
package server
