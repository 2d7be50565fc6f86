package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/inference/internal/app"
	infconfig "github.com/rampart-platform/rampart/services/inference/internal/config"
)

// authWait bounds how long start-up waits for auth's verification keys.
const authWait = 30 * time.Second

func run(ctx context.Context, args []string) error {
	cfg, err := infconfig.Load(args)
	var help *config.HelpError
	if errors.As(err, &help) {
		fmt.Println(help.Usage)
		return nil
	}
	if err != nil {
		return err
	}
	log := logging.New(os.Stderr, cfg.SlogLevel())
	src, err := mtls.NewSource(mtls.FilesFor(cfg.CertDir, infconfig.Service), mtls.WithLogger(log))
	if err != nil {
		return err
	}
	go func() { _ = src.Watch(ctx, 30*time.Second) }()

	authConn, err := mtls.Dial(ctx, cfg.AuthAddr, src, pki.ServiceID("auth"))
	if err != nil {
		return err
	}
	defer authConn.Close()
	keys := principal.NewRemoteKeys(authv1.NewAuthServiceClient(authConn), log)
	// A backend must not serve without a way to verify callers: wait for
	// auth's keys (it may still be starting).
	deadline := time.Now().Add(authWait)
	for {
		err := keys.Refresh(ctx)
		if err == nil && keys.Loaded() {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("fetch principal verification keys from auth at %s: %w", cfg.AuthAddr, errors.Join(err, ctx.Err()))
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	go keys.Run(ctx, time.Minute)

	a, err := app.New(ctx, app.Options{Config: cfg, TLS: src, Keys: keys, Logger: log})
	if err != nil {
		return err
	}
	log.Info("inference listening", "addr", a.Server.Addr().String())
	return a.Run(ctx)
}
