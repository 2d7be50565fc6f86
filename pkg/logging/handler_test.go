package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/logging"
)

// A well-formed key: rk_ + 12 id + 43 secret + 6 checksum characters.
const apiKey = "rk_AbCdEf123456" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBaZyXwVuTsR" + "a1B2c3"

func logLine(t *testing.T, f func(l *slog.Logger)) (string, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	f(logging.New(&buf, slog.LevelDebug))
	line := buf.String()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m), "output must stay valid JSON: %s", line)
	return line, m
}

func TestRedactsKeyBearerAndSlackToken(t *testing.T) {
	line, _ := logLine(t, func(l *slog.Logger) {
		l.Info("upstream call with key "+apiKey+" and header Authorization: Bearer abc.def-ghi",
			"slack", "token xoxb-1234-5678-AbCdEfGh")
	})
	for _, secret := range []string{apiKey, "abc.def-ghi", "xoxb-1234-5678-AbCdEfGh", "rk_AbCd"} {
		require.NotContains(t, line, secret)
	}
	require.Contains(t, line, logging.Redacted)
}

type creds struct {
	User     string `json:"user"`
	Password string `json:"password"`
	APIKey   string `json:"api_key"`
	Limit    int    `json:"max_tokens"`
}

type lazy string

func (l lazy) LogValue() slog.Value { return slog.StringValue("resolved " + string(l)) }

func TestRedaction(t *testing.T) {
	tests := []struct {
		name    string
		log     func(l *slog.Logger)
		secrets []string
		keep    []string
	}{
		{
			name:    "api key in attribute",
			log:     func(l *slog.Logger) { l.Info("verify", "presented", apiKey) },
			secrets: []string{apiKey},
		},
		{
			name: "short rk_ run is left alone",
			log:  func(l *slog.Logger) { l.Info("prefix rk_abc is documented") },
			keep: []string{"rk_abc"},
		},
		{
			name:    "slack app and user tokens",
			log:     func(l *slog.Logger) { l.Info("tokens", "a", "xapp-1-A0B1C2-123-abcdef", "u", "xoxp-11-22-33-aabbcc") },
			secrets: []string{"xapp-1-A0B1C2-123-abcdef", "xoxp-11-22-33-aabbcc"},
		},
		{
			// A request struct or proto logged whole: keyvault's value
			// fields and a rotation webhook's body put the secret word
			// first (security review 2026-12-06 evening).
			name: "secret value fields of a logged struct",
			log: func(l *slog.Logger) {
				type putValue struct {
					Name         string `json:"name"`
					SecretString string `json:"secret_string"`
					SecretBinary []byte `json:"secret_binary"`
				}
				l.Info("put", "req", putValue{Name: "/dev/app/db", SecretString: "ss-canary-1", SecretBinary: []byte("sb-canary-2")})
			},
			secrets: []string{"ss-canary-1", "c2ItY2FuYXJ5LTI"},
			keep:    []string{"/dev/app/db"},
		},
		{
			name:    "a webhook's pending value inline",
			log:     func(l *slog.Logger) { l.Info(`webhook body {"step":"setSecret","pending_value":"pv-canary-3"}`) },
			secrets: []string{"pv-canary-3"},
			keep:    []string{"setSecret"},
		},
		{
			name: "secret value attributes",
			log: func(l *slog.Logger) {
				l.Info("attrs", "secret_string", "ss-canary-4", "pending_value", "pv-canary-5", "secret_binary", "sb-canary-6")
			},
			secrets: []string{"ss-canary-4", "pv-canary-5", "sb-canary-6"},
		},
		{
			// Token rotation: refresh tokens are xoxe-1-…, access tokens
			// xoxe.xoxb-1-… (security review 2026-12-06 evening).
			name: "slack rotating refresh and access tokens",
			log: func(l *slog.Logger) {
				l.Info("slack said", "err", "oauth.v2.access: xoxe-1-My0xLTIzNDU2Nzg5MC0xMjM0NTY3ODkw and xoxe.xoxb-1-MS0yLTM0NTY")
			},
			secrets: []string{"xoxe-1-My0xLTIzNDU2Nzg5MC0xMjM0NTY3ODkw", "MS0yLTM0NTY"},
		},
		{
			name: "aws secret and passwords inline",
			log: func(l *slog.Logger) {
				l.Info(`env aws_secret_access_key=wJalrXUtnFEMI/K7MDENG password=hunter2 body={"password": "two words"}`)
			},
			secrets: []string{"wJalrXUtnFEMI/K7MDENG", "hunter2", "two words"},
			keep:    []string{"aws_secret_access_key=", "password="},
		},
		{
			name:    "basic authorization header",
			log:     func(l *slog.Logger) { l.Info("request", "headers", "Authorization: Basic dXNlcjpwYXNz") },
			secrets: []string{"dXNlcjpwYXNz"},
		},
		{
			name: "sensitive keys",
			log: func(l *slog.Logger) {
				l.Info("cfg", "Authorization", "opaque1", "X-Api-Key", "opaque2", "bot_token", "opaque3",
					"client_secret", "opaque4", "SIGNING_SECRET", "opaque5", "private_key", "opaque6",
					"apikey", "opaque7", "password", 12345678)
			},
			secrets: []string{"opaque1", "opaque2", "opaque3", "opaque4", "opaque5", "opaque6", "opaque7", "12345678"},
		},
		{
			name: "non-sensitive keys stay readable",
			log: func(l *slog.Logger) {
				l.Info("usage", "max_tokens", 4096, "token_count", 17, "method", "/rampart.auth.v1.AuthService/VerifyKey")
			},
			keep: []string{`"max_tokens":4096`, `"token_count":17`, "/rampart.auth.v1.AuthService/VerifyKey"},
		},
		{
			name: "nested groups",
			log: func(l *slog.Logger) {
				l.Info("req", slog.Group("http", slog.Group("headers", slog.String("authorization", "Bearer zzz"), slog.String("note", "key "+apiKey))))
			},
			secrets: []string{"zzz", apiKey},
		},
		{
			name: "wrapped error",
			log: func(l *slog.Logger) {
				l.Error("failed", "error", fmt.Errorf("call upstream: %w", errors.New("rejected key "+apiKey)))
			},
			secrets: []string{apiKey},
			keep:    []string{"call upstream: rejected key"},
		},
		{
			name: "struct value",
			log: func(l *slog.Logger) {
				l.Info("cfg", "creds", creds{User: "ann", Password: "s3cr3t!", APIKey: "opaque8", Limit: 9})
			},
			secrets: []string{"s3cr3t!", "opaque8"},
			keep:    []string{`"user":"ann"`, `"max_tokens":9`},
		},
		{
			name:    "LogValuer is resolved before redaction",
			log:     func(l *slog.Logger) { l.Info("x", "v", lazy(apiKey)) },
			secrets: []string{apiKey},
			keep:    []string{"resolved"},
		},
		{
			name: "With attributes",
			log: func(l *slog.Logger) {
				l.With("token", "opaque9", "k", apiKey).WithGroup("g").Info("x", "secret", "opaque10")
			},
			secrets: []string{"opaque9", "opaque10", apiKey},
		},
		{
			name:    "secret in an attribute key",
			log:     func(l *slog.Logger) { l.Info("x", apiKey, 1) },
			secrets: []string{apiKey},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, _ := logLine(t, tt.log)
			for _, s := range tt.secrets {
				require.NotContains(t, line, s)
			}
			if len(tt.secrets) > 0 {
				require.Contains(t, line, logging.Redacted)
			}
			for _, k := range tt.keep {
				require.Contains(t, line, k)
			}
		})
	}
}

func TestContextIDs(t *testing.T) {
	ctx := logging.WithTenantID(logging.WithRequestID(context.Background(), "req-1"), "tenant-9")
	_, m := logLine(t, func(l *slog.Logger) { l.InfoContext(ctx, "hello") })
	require.Equal(t, "req-1", m["request_id"])
	require.Equal(t, "tenant-9", m["tenant_id"])

	_, m = logLine(t, func(l *slog.Logger) { l.Info("hello") })
	require.NotContains(t, m, "request_id")
	require.NotContains(t, m, "tenant_id")
}

// fieldsCtx is a context carrying its request state in one logging.Fields,
// the way the edge's reqstate does.
type fieldsCtx struct {
	context.Context
	f logging.Fields
}

func (c *fieldsCtx) Value(k any) any {
	if v, ok := c.f.ContextValue(k); ok {
		return v
	}
	return c.Context.Value(k)
}

func TestContextFields(t *testing.T) {
	parent := logging.WithTenantID(context.Background(), "outer-tenant")
	ctx := &fieldsCtx{Context: parent}
	// Unset fields fall through to the parent.
	require.Empty(t, logging.RequestID(ctx))
	require.Equal(t, "outer-tenant", logging.TenantID(ctx))

	ctx.f.RequestID, ctx.f.TenantID = "req-2", "t_fields"
	require.Equal(t, "req-2", logging.RequestID(ctx))
	require.Equal(t, "t_fields", logging.TenantID(ctx))

	// A record's own tenant_id gives way to the context's: one key per line.
	line, m := logLine(t, func(l *slog.Logger) { l.InfoContext(ctx, "hello", "tenant_id", "t_fields", "x", 1) })
	require.Equal(t, 1, strings.Count(line, `"tenant_id"`), line)
	require.Equal(t, "t_fields", m["tenant_id"])
	require.Equal(t, "req-2", m["request_id"])

	// Without a tenant in the context the record's own is kept.
	line, m = logLine(t, func(l *slog.Logger) { l.Info("hello", "tenant_id", "") })
	require.Equal(t, 1, strings.Count(line, `"tenant_id"`), line)
	require.Empty(t, m["tenant_id"])
}

func TestLevel(t *testing.T) {
	var buf bytes.Buffer
	l := logging.New(&buf, slog.LevelWarn)
	l.Info("quiet")
	require.Empty(t, buf.String())
	l.Warn("loud")
	require.Contains(t, buf.String(), "loud")
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr bool
	}{
		{in: "debug", want: slog.LevelDebug},
		{in: "INFO", want: slog.LevelInfo},
		{in: " warn ", want: slog.LevelWarn},
		{in: "error", want: slog.LevelError},
		{in: "info+2", want: slog.LevelInfo + 2},
		{in: "verbose", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := logging.ParseLevel(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

var rkKey = regexp.MustCompile(`rk_[A-Za-z0-9]{20,}`)

func FuzzRedaction(f *testing.F) {
	for _, s := range []string{
		apiKey, "Bearer " + apiKey, `{"password":"` + apiKey + `"}`, "rk_rk_" + strings.Repeat("a", 30),
		"xoxb-" + apiKey, "Authorization: " + apiKey, "password=\"" + apiKey, "\xff" + apiKey,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		l := logging.New(&buf, slog.LevelInfo)
		l.Info(s, "v", s, s, "x", "err", errors.New(s), slog.Group("g", "v", s))
		if rkKey.MatchString(buf.String()) {
			t.Fatalf("API key survived: %q", buf.String())
		}
	})
}

// TestHandleAttrsAsHandle: logging.Handle (HandleAttrs) writes the line
// Handle writes for the same record: redaction of message, keys and values,
// the context's ids, the context's tenant over the record's; and a handler
// other than ours still gets the record.
func TestHandleAttrsAsHandle(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	attrs := []slog.Attr{
		slog.String("tenant_id", "from-record"), slog.String("path", "/v1/chat/completions"),
		slog.String("authorization", "Bearer abc.def"), slog.String("note", "key "+apiKey), slog.Int("status", 200),
		slog.Group("g", slog.String("password", "hunter2"), slog.Any("lazy", lazy("x"))), slog.Float64("sample_rate", 0.5),
		// The JSON fast path's cases (Handler.appendJSON): plain keys and
		// values, ones slog escapes, non-ASCII, triggers, sensitive keys,
		// every kind it writes itself.
		slog.String("quote\"key", "a\\b"), slog.String("ctl", "line\nbreak\x01"), slog.String("del", "x\x7fy"),
		slog.String("name", "Zoë"), slog.String("tokens_used", "12"), slog.String("api_key", "plain"),
		slog.String("X-Api-Key", "plain"), slog.String("caller", "spiffe://rampart.local/svc/edge"),
		slog.Uint64("u", 7), slog.Bool("ok", true), slog.Duration("d", 1500), slog.Int64("neg", -3),
		slog.String("k\u2028", "v\u2029"), slog.Any("err", errors.New("token="+apiKey)),
	}
	for name, ctx := range map[string]context.Context{
		"no ids":     context.Background(),
		"request id": logging.WithRequestID(context.Background(), "req-1"),
		"both ids":   logging.WithTenantID(logging.WithRequestID(context.Background(), "req-2"), "tenant-9"),
	} {
		for _, level := range []slog.Level{slog.LevelInfo, slog.LevelError} {
			var viaRecord, viaAttrs bytes.Buffer
			r := slog.NewRecord(at, level, "http request with "+apiKey, 0)
			r.AddAttrs(attrs...)
			require.NoError(t, logging.New(&viaRecord, slog.LevelDebug).Handler().Handle(ctx, r))
			logging.Handle(ctx, logging.New(&viaAttrs, slog.LevelDebug).Handler(), at, level, "http request with "+apiKey, attrs...)
			require.Equal(t, viaRecord.String(), viaAttrs.String(), name)
			require.NotContains(t, viaAttrs.String(), apiKey)
			require.NotContains(t, viaAttrs.String(), "hunter2")
		}
	}
	var other bytes.Buffer
	logging.Handle(context.Background(), slog.NewJSONHandler(&other, nil), at, slog.LevelInfo, "plain", slog.Int("n", 1))
	require.Contains(t, other.String(), `"msg":"plain","n":1`)
}

// FuzzHandleAttrsAsHandle: for any key and string value, HandleAttrs (the
// access lines' JSON fast path) writes the line Handle writes, with the
// value also as the message and under a fixed key, and never an API key.
func FuzzHandleAttrsAsHandle(f *testing.F) {
	for _, s := range []string{"plain", "a\"b", "x\\y", "\n", "\x7f", "Zoë", "\xff", "token", "secret_string", "Bearer " + apiKey, "k=" + apiKey, ""} {
		f.Add(s, s)
	}
	at := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	ctx := logging.WithTenantID(logging.WithRequestID(context.Background(), "req-1"), "tenant-9")
	f.Fuzz(func(t *testing.T, key, value string) {
		attrs := []slog.Attr{slog.String(key, value), slog.String("v", value), slog.Int(key, 1), slog.String("tenant_id", value)}
		var viaRecord, viaAttrs bytes.Buffer
		r := slog.NewRecord(at, slog.LevelInfo, value, 0)
		r.AddAttrs(attrs...)
		require.NoError(t, logging.New(&viaRecord, slog.LevelInfo).Handler().Handle(ctx, r))
		logging.Handle(ctx, logging.New(&viaAttrs, slog.LevelInfo).Handler(), at, slog.LevelInfo, value, attrs...)
		require.Equal(t, viaRecord.String(), viaAttrs.String())
		if rkKey.MatchString(viaAttrs.String()) {
			t.Fatalf("API key survived: %q", viaAttrs.String())
		}
	})
}
