package store_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/logging/logtest"
	"github.com/rampart-platform/rampart/pkg/store"
)

// TestOpenServiceStore: the URL picks the store; PostgreSQL gets the
// service's pool bounds and a start deadline, and its failure names the
// setting without the password.
func TestOpenServiceStore(t *testing.T) {
	const password = "pw-Zq81-never-shown"
	pgURL := "postgres://svc:" + password + "@db.internal:5432/rampart?sslmode=disable&password=" + password
	refused := errors.New("connection refused")
	tests := []struct {
		name      string
		url       string
		pgErr     error
		want      string // the store opened
		wantErr   []string
		notInErr  []string
		wantLog   string
		wantNoLog bool
	}{
		{name: "no URL: SQLite", url: "", want: "sqlite", wantNoLog: true},
		{name: "URL: PostgreSQL", url: pgURL, want: "postgres", wantLog: "store: PostgreSQL"},
		{name: "PostgreSQL fails: the setting named, the password not", url: pgURL, pgErr: refused,
			wantErr:  []string{"ingestion store: RAMPART_INGESTION_DATABASE_URL", "db.internal:5432", "connection refused"},
			notInErr: []string{password}, wantNoLog: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logtest.Buffer{}
			var gotPool store.PoolOptions
			var deadline time.Duration
			st, err := store.OpenServiceStore(t.Context(),
				store.ServiceDB{Service: "ingestion", URL: tt.url, MaxConns: 7, StatementTimeout: 3 * time.Second, Log: slog.New(slog.NewTextHandler(logs, nil))},
				func(context.Context) (string, error) { return "sqlite", nil },
				func(ctx context.Context, url string, pool store.PoolOptions) (string, error) {
					require.Equal(t, tt.url, url)
					gotPool = pool
					d, ok := ctx.Deadline()
					require.True(t, ok, "connecting has a deadline")
					deadline = time.Until(d)
					if tt.pgErr != nil {
						return "", tt.pgErr
					}
					return "postgres", nil
				})
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.pgErr)
				for _, s := range tt.wantErr {
					require.ErrorContains(t, err, s)
				}
				for _, s := range tt.notInErr {
					require.NotContains(t, err.Error(), s)
				}
				require.Empty(t, st)
			} else {
				require.NoError(t, err)
				require.Equal(t, tt.want, st)
			}
			if tt.url != "" {
				require.Equal(t, 7, gotPool.MaxOpen)
				require.Equal(t, 7, gotPool.MaxIdle)
				require.Equal(t, 3*time.Second, gotPool.StatementTimeout)
				require.Equal(t, store.DefaultPoolOptions.LockTimeout, gotPool.LockTimeout, "the rest are the defaults")
				require.InDelta(t, store.StartTimeout.Seconds(), deadline.Seconds(), 5)
			}
			if tt.wantLog != "" {
				require.Contains(t, logs.String(), tt.wantLog)
				require.NotContains(t, logs.String(), password)
			}
			if tt.wantNoLog {
				require.False(t, strings.Contains(logs.String(), "store: PostgreSQL"))
			}
		})
	}
}
