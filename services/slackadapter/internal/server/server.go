// Package server wires the Slack adapter service. Until the slack-adapter
// issue lands, SlackAdapterService answers every RPC with codes.Unimplemented
// (the generated default), while health, metrics, mTLS and authz are real.
package server

import (
	"context"
	_ "embed"

	slackadapterv1 "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/config"
)

//go:embed policy.json
var defaultPolicy []byte

// Run starts the service and blocks until ctx ends.
func Run(ctx context.Context, args []string) error {
	// Slack's requests carry no Rampart principal: the adapter authenticates
	// them by their Slack signature instead.
	spec := backend.Spec{Name: "slackadapter", DefaultPolicy: defaultPolicy,
		PrincipalExempt: []string{"/rampart.slackadapter.v1.SlackAdapterService/HandleEvent"}}
	return backend.Run(ctx, spec, config.Default(), args, func(_ context.Context, env *backend.Env) error {
		slackadapterv1.RegisterSlackAdapterServiceServer(env.Server.GRPC(), &slackadapterv1.UnimplementedSlackAdapterServiceServer{})
		return nil
	})
}
