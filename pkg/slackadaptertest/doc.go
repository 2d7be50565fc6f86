// Package slackadaptertest is the one test double of the slackadapter
// service for its callers (the edge's Slack relay and the CLI's
// `rampart slack app`): an in-process rampart.slackadapter.v1
// SlackAdapterService speaking the real protocol over real mTLS
// (pkitest certificates).
//
// Callers are admitted as slackadapter admits them: the permission table
// (pkg/permissions) says which service identities may call each method and
// which need a principal assertion, verified with Options.Keys (HandleEvent,
// ConfigureApp and GetApp need none). Options.Callers narrows the admitted
// identities further.
//
// It is scripted and recording, not a second slackadapter. Every call that
// gets past admission is recorded (method, mTLS caller, verified principal,
// request id, request). The operator's app configuration is kept as
// slackadapter keeps it: ConfigureApp and GetApp admit only the CLI's
// identity (rampart-cli), ConfigureApp stores the client id with
// Options.Now as its time, GetApp answers it or FailedPrecondition before
// any ConfigureApp. Every other method is answered by Options.Script
// (nil: Unimplemented); what slackadapter does with a Slack event (the
// signature check, the bot, installations) is slackadapter's to test, and
// the e2e tests run the real service (ADR 0043).
package slackadaptertest
