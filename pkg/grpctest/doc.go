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
// apply them. ListServices is `grpcurl list` (server reflection).
// Call (built by CallOf) and Log are what a recording double keeps of
// each call: the method, who made it (mTLS caller, verified principal,
// request id) and the request, and the calls in order; a double's own Call
// embeds grpctest.Call.
//
// Fixture is what the tests of a double, or of code calling one, set up
// around it: a pkitest PKI directory, a principal signer standing in for
// auth's and the keys that verify it (for a double's Options.Keys), As (a
// context carrying a signed assertion, as a service forwards its caller's)
// and Dial; NewSigner makes another signer, e.g. to forge assertions:
//
//	f := grpctest.NewFixture(t, "inference", "edge")
//	srv := inferencetest.Start(t, f.Dir, inferencetest.Options{Keys: f.Keys()})
//	c := inferencev1.NewInferenceServiceClient(f.Dial(t, "edge", srv.Addr, "inference"))
//	resp, err := c.ListModels(f.As(t, &authv1.Principal{TenantId: "t1"}), &inferencev1.ListModelsRequest{})
package grpctest
