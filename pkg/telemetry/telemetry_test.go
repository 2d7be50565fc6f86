package telemetry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/rampart-platform/rampart/pkg/grpctest"
	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/pkg/telemetry"
)

func startHealth(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	return grpctest.Serve(t, srv)
}

func check(t *testing.T, addr string, opts ...grpc.DialOption) {
	t.Helper()
	conn, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
}

func TestMetrics(t *testing.T) {
	reg := telemetry.NewRegistry()
	sm, err := telemetry.NewServerMetrics(reg)
	require.NoError(t, err)
	cm, err := telemetry.NewClientMetrics(reg)
	require.NoError(t, err)
	_, err = telemetry.NewServerMetrics(reg)
	require.Error(t, err, "registering twice is an error, not a panic")

	addr := startHealth(t, grpc.ChainUnaryInterceptor(sm.UnaryServerInterceptor()))
	check(t, addr, grpc.WithChainUnaryInterceptor(cm.UnaryClientInterceptor()))

	families, err := reg.Gather()
	require.NoError(t, err)
	byName := map[string]bool{}
	allowed := map[string]bool{"grpc_service": true, "grpc_method": true, "grpc_type": true, "grpc_code": true, "le": true}
	for _, f := range families {
		byName[f.GetName()] = true
		if !strings.HasPrefix(f.GetName(), "grpc_") {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				require.True(t, allowed[l.GetName()], "unexpected label %q on %s", l.GetName(), f.GetName())
			}
		}
	}
	for _, name := range []string{
		"go_goroutines", "process_start_time_seconds",
		"grpc_server_handled_total", "grpc_server_handling_seconds", "grpc_client_handled_total", "grpc_client_handling_seconds",
	} {
		require.True(t, byName[name], "missing %s", name)
	}
}

func TestTracing(t *testing.T) {
	tests := []struct {
		name     string
		exporter string
		wantErr  bool
		enabled  bool
	}{
		{name: "default off", exporter: ""},
		{name: "none", exporter: "none"},
		{name: "stdout", exporter: "stdout", enabled: true},
		{name: "unknown", exporter: "otlp", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out logtest.Buffer
			tr, err := telemetry.NewTracing(telemetry.TracingConfig{Exporter: tt.exporter, ServiceName: "auth", Writer: &out})
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.enabled, tr.Enabled())
			if !tt.enabled {
				require.Empty(t, tr.ServerOptions())
				require.Empty(t, tr.DialOptions())
				require.NoError(t, tr.Shutdown(t.Context()))
				return
			}
			addr := startHealth(t, tr.ServerOptions()...)
			check(t, addr, tr.DialOptions()...)
			require.NoError(t, tr.Shutdown(t.Context()))
			require.Contains(t, out.String(), "grpc.health.v1.Health/Check")
			require.Contains(t, out.String(), `"Value":"auth"`)
		})
	}
}

func TestTracingFromEnv(t *testing.T) {
	tr, err := telemetry.TracingFromEnv(func(string) string { return "" }, "auth")
	require.NoError(t, err)
	require.False(t, tr.Enabled())
	var nilTracing *telemetry.Tracing
	require.False(t, nilTracing.Enabled())
	require.Nil(t, nilTracing.ServerOptions())
}
