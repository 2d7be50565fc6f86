// Command keyvault is Rampart's secrets vault and KMS: AWS Secrets Manager
// semantics, envelope encryption, rotation and audit, over mTLS gRPC.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rampart-platform/rampart/services/keyvault/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	if err := app.Run(ctx, os.Args[1:]); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "keyvault:", err)
		os.Exit(1)
	}
	stop()
}
