// Package reqstate holds the per-request state the edge's middlewares share
// (request ids, client address, matched route, verified principal, tenant
// for the log lines) in one struct stored once in the request's context.
//
// Each middleware used to add its own context value and copy the request
// with Request.WithContext (five copies and seven context nodes per
// request, ~12 % of the edge's allocated bytes under chat load, issue 15);
// now the outermost middleware stores a State once and the others fill in
// its fields. A State belongs to one request and is written only by the
// middlewares, in order, before they call the next handler.
package reqstate
