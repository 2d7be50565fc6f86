// Command slackadapter runs Rampart's Slack bot: Events API and slash
// commands relayed by the edge (verified by Slack signature), OAuth v2
// install for many workspaces, answers from inference in thread.
package main

import (
	"github.com/rampart-platform/rampart/pkg/backend"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/app"
)

func main() { backend.Main("slackadapter", app.Run) }
