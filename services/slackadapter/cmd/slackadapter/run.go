package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/services/slackadapter/internal/server"
)

// run starts the service (or, with "healthcheck", checks a running one).
func run(ctx context.Context) error {
	err := server.Run(ctx, os.Args[1:], server.Hooks{})
	var help *config.HelpError
	if errors.As(err, &help) {
		fmt.Println(help.Usage)
		return nil
	}
	return err
}
