// Package pkitest generates throwaway PKI directories for tests, so every
// package and service can run real mTLS without committed key material:
//
//	dir, ca := pkitest.NewDir(t, "auth", "edge") // ca.crt, auth.crt/.key, edge.crt/.key
//	pkitest.IssueExpired(t, ca, dir, "stale", pki.ServiceID("edge"))
//	src, err := mtls.NewSource(mtls.FilesFor(dir, "auth"))
package pkitest
