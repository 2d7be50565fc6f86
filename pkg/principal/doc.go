// Package principal signs and verifies principal assertions: the compact,
// Ed25519-signed statement from auth of whom a request acts for (tenant, key,
// subject, roles, scopes, limits), valid for a few minutes.
//
// The edge forwards the assertion as gRPC metadata "x-rampart-principal".
// Every backend installs this package's interceptors and takes the tenant
// only from the verified assertion — never from a request field. mTLS says
// which service is calling; the assertion says on whose behalf.
//
// Wire format: "v1.<kid>.<base64url(proto Principal)>.<base64url(signature)>",
// the signature covering everything before the last dot. Protobuf keeps the
// payload small and the verify path allocation-light.
package principal
