package server

import (
	_ "embed"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
)

//go:embed policy.json
var defaultPolicy []byte

// DefaultPolicy is the embedded per-method caller allow-list of
// SlackAdapterService (pkg/authz JSON). It must equal pkg/permissions'
// callers (permissions_test.go).
func DefaultPolicy() []byte { return defaultPolicy }

// PrincipalExempt are the methods callable without a principal
// assertion. Slack's requests carry no Rampart principal: HandleEvent
// authenticates them by Slack signature or OAuth state instead; the
// operator's app configuration is authorized by its mTLS identity (the
// operator's CLI carries no principal; the handlers admit only its
// identity).
var PrincipalExempt = []string{
	slackadapterv1.SlackAdapterService_HandleEvent_FullMethodName,
	slackadapterv1.SlackAdapterService_ConfigureApp_FullMethodName,
	slackadapterv1.SlackAdapterService_GetApp_FullMethodName,
}
