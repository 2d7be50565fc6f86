// Command slackadapter runs Rampart's Slack bot: Events API and slash
// commands relayed by the edge (verified by Slack signature), OAuth v2
// install for many workspaces, answers from inference in thread.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "slackadapter:", err)
		os.Exit(1)
	}
}
