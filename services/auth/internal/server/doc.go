// Package server holds auth's gRPC handlers. They only translate: requests
// into domain calls on internal/keys (with the caller taken from the
// verified principal), results into protos, errors through pkg/grpcerr.
// Registration, interceptors and the default authz policy are in this
// package too.
package server
