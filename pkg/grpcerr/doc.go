// Package grpcerr is the one place where errors become gRPC statuses at a
// service boundary. Domain code returns (wrapped) sentinel errors from this
// package or an Invalid error naming the bad field; handlers return
// grpcerr.ToStatus(ctx, log, err), or rely on the server interceptor
// installed by pkg/serve. Anything unrecognised becomes codes.Internal
// "internal error": the details are logged with the request id, never sent.
// FieldViolations and Detail read a status's details back (the gateway,
// tests). DataKey maps keyvault's failure of a tenant data-key call the same
// way for every service that holds tenant keys.
package grpcerr
