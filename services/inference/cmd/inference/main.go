// Command inference runs Rampart's inference service: OpenAI-compatible chat
// completions and embeddings over mTLS gRPC, with providers, quotas, usage
// and tool policy (see internal/inference).
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
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "inference:", err)
		os.Exit(1)
	}
}
