// Command slackadapter runs Rampart's Slack bot: Events API and slash
// commands relayed by the edge (verified by Slack signature), OAuth v2
// install for many workspaces, answers from inference in thread.
package main

import (
	"context"

	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/server"
)

func main() {
	backend.Main("slackadapter", func(ctx context.Context, args []string) error {
		return server.Run(ctx, args, server.Hooks{})
	})
}
