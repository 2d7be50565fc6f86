// Package grpctest starts in-process gRPC servers for tests, so the test
// doubles in pkg/ (authtest, keyvaulttest, inferencetest, ingestiontest,
// slackadaptertest) and the private test servers do not each repeat the
// same listen-serve-stop wiring:
//
//	gs := grpctest.NewMTLSServer(t, certDir, "inference", grpc.ChainUnaryInterceptor(...))
//	inferencev1.RegisterInferenceServiceServer(gs, s)
//	addr := grpctest.Serve(t, gs) // 127.0.0.1:port, stopped when the test ends
//	conn := grpctest.Dial(t, certDir, "edge", addr, "inference") // closed when the test ends
//
// NewMTLSServer uses the same mTLS credentials as the services (pkg/mtls
// with a pkitest certificate); Serve takes any *grpc.Server, plaintext
// ones included. Admission and PrincipalExempt give a double the
// permission table's rules (pkg/permissions): which service identities may
// call each method, and which methods need no principal assertion;
// NewGuardedServer is NewMTLSServer with both applied, as the services
// apply them.
// OriginOf and Log are what a recording double keeps of each call: who
// made it (mTLS caller, verified principal, request id) and the calls in
// order.
package grpctest
