// Package permissions is Rampart's one permission table: for every REST
// route the edge serves and every gRPC method of every service, who may
// call it and under which conditions.
//
// A REST route (Route) names the scopes the API key must hold (all of
// them; the "admin" scope holds every scope), the minimum role of the key's
// subject, the tenant binding (the tenant comes from the verified principal,
// the platform operator only, or none), the gRPC method it reaches, its
// rate-limit class, body limit and write deadline. A gRPC method (RPC) names
// the SPIFFE identities allowed to call it and whether the call carries a
// principal assertion.
//
// The table is data read by code, not documentation kept in step by hand:
// the edge's authentication, rate limiting and body limits read it; tests
// check that every proto RPC and google.api.http binding, and every
// service's caller allow-list, agree with it; the end-to-end authorization
// matrix (tests/e2e/authz_matrix_test.go) walks every route against the
// running stack and checks the outcome the table predicts; and the table in
// docs/security.md is rendered from it (Markdown). ADR-0020 records why the
// table is a Go value rather than a proto option or a YAML file.
package permissions
