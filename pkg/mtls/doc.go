// Package mtls builds the mutual-TLS 1.3 configuration every Rampart service
// and client uses: certificates and the trust bundle come from files on disk
// (see docs/conventions.md) and are re-read when they change, identities are
// SPIFFE IDs carried as the certificate's single URI SAN.
//
// Transport credentials are plain credentials.NewTLS so the connection's
// AuthInfo stays credentials.TLSInfo, which grpc-go's authz package needs to
// match principals (pkg/authz). go-spiffe is used only to parse IDs.
package mtls
