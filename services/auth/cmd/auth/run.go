package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/rampart-platform/rampart/pkg/authz"
	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/telemetry"

	"github.com/rampart-platform/rampart/services/auth/internal/config"
	"github.com/rampart-platform/rampart/services/auth/internal/events"
	"github.com/rampart-platform/rampart/services/auth/internal/keys"
	"github.com/rampart-platform/rampart/services/auth/internal/server"
	"github.com/rampart-platform/rampart/services/auth/internal/signing"
	"github.com/rampart-platform/rampart/services/auth/internal/store"
)

func run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:])
	}
	cfg, err := config.Load(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(os.Stdout, err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	log := logging.New(os.Stderr, cfg.SlogLevel()).With("service", "auth")

	src, err := mtls.NewSource(mtls.FilesFor(cfg.CertDir, "auth"), mtls.WithLogger(log))
	if err != nil {
		return err
	}
	var az *authz.Authorizer
	if cfg.AuthzPolicy != "" {
		az, err = authz.FromFile(cfg.AuthzPolicy, 5*time.Second, log)
	} else {
		az, err = authz.New(server.DefaultPolicy)
	}
	if err != nil {
		return err
	}
	defer az.Close()

	db, err := store.Open(ctx, cfg.DatabaseURL, filepath.Join(cfg.DataDir, "auth.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	kek, err := signing.LoadKEK(cfg.SigningKEKFile)
	if err != nil {
		return err
	}
	sm, err := signing.New(ctx, db, kek, time.Now, cfg.SigningKeyRotation)
	if err != nil {
		return err
	}
	hub := events.NewHub()
	svc, err := keys.New(ctx, db, sm, hub, keys.Options{
		DefaultTTL: cfg.KeyDefaultTTL, MaxTTL: cfg.KeyMaxTTL, DefaultOverlap: cfg.RotationOverlap,
		TenantGrace: cfg.TenantGrace, Log: log,
	})
	if err != nil {
		return err
	}

	reg := telemetry.NewRegistry()
	metrics, err := telemetry.NewServerMetrics(reg)
	if err != nil {
		return err
	}
	unary, stream := server.Interceptors(az, sm, log)
	gs := grpc.NewServer(
		grpc.Creds(mtls.ServerCredentials(src)),
		grpc.ChainUnaryInterceptor(append([]grpc.UnaryServerInterceptor{metrics.UnaryServerInterceptor()}, unary...)...),
		grpc.ChainStreamInterceptor(append([]grpc.StreamServerInterceptor{metrics.StreamServerInterceptor()}, stream...)...),
	)
	server.Register(gs, server.New(svc, sm, db, hub, log))
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	if !cfg.Prod() {
		reflection.Register(gs)
	}
	metrics.InitializeMetrics(gs)

	lis, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.ListenAddr, err)
	}
	adminLis, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		_ = lis.Close()
		return fmt.Errorf("listen %s: %w", cfg.AdminAddr, err)
	}
	var ready atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if !ready.Load() || db.Ping(pctx) != nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	admin := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	g, gctx := errgroup.WithContext(ctx)
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	go func() { _ = src.Watch(bg, 5*time.Second) }()
	go svc.Run(bg, cfg.SweepInterval)
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				if err := sm.Refresh(bg); err != nil {
					log.Error("refresh signing keys", "err", err)
				} else if err := sm.MaybeRotate(bg); err != nil {
					log.Error("rotate signing key", "err", err)
				}
			}
		}
	}()
	g.Go(func() error { return gs.Serve(lis) })
	g.Go(func() error {
		if err := admin.Serve(adminLis); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	ready.Store(true)
	log.Info("auth serving", "grpc", lis.Addr().String(), "admin", adminLis.Addr().String(), "store", string(db.Dialect()), "spiffe_id", src.ID().String())

	g.Go(func() error {
		<-gctx.Done()
		// Shutdown order: readiness false → drain → GracefulStop with a
		// deadline → stop background work → close the store (deferred).
		ready.Store(false)
		hs.Shutdown()
		done := make(chan struct{})
		go func() { gs.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			gs.Stop()
		}
		stopBG()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return admin.Shutdown(sctx)
	})
	err = g.Wait()
	if errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	log.Info("auth stopped")
	return err
}

// healthcheck GETs http://<admin addr>/readyz and fails unless it is 200.
// Docker healthchecks run "auth healthcheck".
func healthcheck(ctx context.Context, args []string) error {
	cfg, err := config.Load(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+cfg.AdminAddr+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /readyz answered %d", resp.StatusCode)
	}
	_ = slog.Default
	return nil
}
