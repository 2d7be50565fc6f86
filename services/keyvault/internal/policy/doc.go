// Package policy decides which caller may do what to which secret names.
//
// A rule names callers (mTLS SPIFFE IDs, "*" for any verified service),
// optionally principal roles or scopes (any one suffices), name patterns and
// actions. A request is allowed when some rule matches all four; otherwise
// it is denied (default deny). Name patterns are "/"-separated globs: "*"
// matches one segment, a trailing "*" or "**" matches the rest of the name,
// and "{env}" stands for the deployment's environment (any segment when none
// is configured). The policy file (JSON) is re-read when it changes.
package policy
