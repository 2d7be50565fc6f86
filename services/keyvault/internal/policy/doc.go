// Package policy decides which caller may do what to which secret names.
//
// A rule names callers (mTLS SPIFFE IDs, "*" for any verified service),
// optionally principal roles and scopes, name patterns and actions. With
// both roles and scopes the principal needs one of each: a role narrows a
// scope, it never stands in for one (the "admin" scope holds every scope,
// as in auth). A request is allowed when some rule matches; otherwise it is
// denied (default deny). Name patterns are "/"-separated globs: "*" matches
// one segment, a trailing "*" or "**" matches the rest of the name, and
// "{env}" stands for the deployment's environment (any segment when none is
// configured). The policy file (JSON) is re-read when it changes.
//
// Above the rules sits a built-in invariant no policy file can lift:
// service-owned names ("/<any env>/slackadapter/…", "…/ingestion/…",
// "…/inference/…") are read, written, rotated and deleted only by the
// owning service's identity; anyone else may at most describe them (see
// Owner). The vault applies the same rule (OwnerAllows) to any secret a
// service created for itself, whose creator it records (IsService).
package policy
