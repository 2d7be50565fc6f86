package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
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

// run starts the service, or with "healthcheck" as the first argument checks
// that a running one is ready (container health checks, docker-compose.yml).
//
// Inference assembles itself (internal/app) rather than through
// pkg/backend because it installs a cache of verified principal assertions
// in place of the per-call Ed25519 check (55 µs per call on this hardware;
// see docs/performance.md); the lifecycle, interceptors, authz and admin
// endpoints are pkg/serve's, as for every service.
func run(ctx context.Context, args []string) error {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	cfg, err := infconfig.Load(args)
	var help *config.HelpError
	if errors.As(err, &help) {
		fmt.Println(help.Usage)
		return nil
	}
	if err != nil {
		return err
	}
	if healthcheck {
		return checkReady(ctx, cfg.AdminAddr)
	}
	log := logging.New(os.Stderr, cfg.SlogLevel()).With("service", infconfig.Service)
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

func checkReady(ctx context.Context, adminAddr string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	//nolint:gosec // the service's own admin address, from its configuration
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req) //nolint:gosec // see above
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: not ready (%s)", resp.Status)
	}
	return nil
}
