// Package authz enforces Rampart's per-method allow-list of caller SPIFFE
// IDs, default deny, on top of grpc-go's authz package.
//
// Policies are written in a small Rampart format and compiled into grpc-go's
// SDK authorization policy:
//
//	{"rules": [
//	  {"methods": ["/rampart.auth.v1.AuthService/VerifyKey"],
//	   "callers": ["spiffe://rampart.local/svc/edge"]},
//	  {"methods": ["/rampart.auth.v1.KeyService/*"],
//	   "callers": ["spiffe://rampart.local/svc/edge", "spiffe://rampart.local/svc/rampart-cli"]}
//	]}
//
// A method is an exact full method name or "/pkg.Service/*" for every method
// of a service; a caller is a SPIFFE ID in the rampart.local trust domain or
// "*" for any verified mTLS peer. The gRPC health service is always callable
// by any verified peer so probes and load balancers keep working.
//
// grpc-go matches principals against the peer certificate's URI SANs only when
// the connection's AuthInfo is credentials.TLSInfo, which is what package mtls
// provides.
package authz
