// Package appsecrets gives the adapter the Slack app's credentials when
// they are settings that refer to AWS (ADR 0126):
// RAMPART_SLACK_CLIENT_SECRET and RAMPART_SLACK_SIGNING_SECRET are
// {{resolve:secretsmanager:...}} or {{resolve:ssm-secure:...}} references
// (pkg/secrets/refs; a parameter may point at a secret), resolved at start
// with the SDK's default credential chain through pkg/secrets/awssm and
// read again every refresh interval through a pkg/secrets Cache (retries,
// circuit breaker, stale-if-error). Requests read the last resolved values
// from memory and never wait on AWS. After the signing secret changes, the
// previous one still verifies for a bounded overlap. No value is logged.
package appsecrets
