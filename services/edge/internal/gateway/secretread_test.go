package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
)

// TestPlainSecretRead: which requests SecretReads answers itself (the
// equivalence with grpc-gateway is TestSecretReadsAnswerAsTheGateway in
// internal/router).
func TestPlainSecretRead(t *testing.T) {
	for _, tt := range []struct {
		method, target string
		header         []string
		name           string // "" = left to grpc-gateway
	}{
		{http.MethodGet, "/v1/secrets/dev/app/db/pass:value", nil, "dev/app/db/pass"},
		{http.MethodGet, "/v1/secrets/one:value", nil, "one"},
		{http.MethodGet, "/v1/secrets/a-b_c~d.e/F9/...x:value", nil, "a-b_c~d.e/F9/...x"},
		{http.MethodGet, "/v1/secrets/.../x:value", nil, ""},
		{http.MethodGet, "/v1/secrets/./x:value", nil, ""},
		{http.MethodGet, "/v1/secrets/x/..:value", nil, ""},
		{http.MethodGet, "/v1/secrets/x//y:value", nil, ""},
		{http.MethodGet, "/v1/secrets/x/:value", nil, ""},
		{http.MethodGet, "/v1/secrets/:value", nil, ""},
		{http.MethodGet, "/v1/secrets/a:b:value", nil, ""},
		{http.MethodGet, "/v1/secrets/a%2Fb:value", nil, ""},
		{http.MethodGet, "/v1/secrets/a%20b:value", nil, ""},
		{http.MethodGet, "/v1/secrets/x:value?version_stage=AWSPREVIOUS", nil, ""},
		{http.MethodGet, "/v1/secrets/x:value?", nil, ""},
		{http.MethodGet, "/v1/secrets/x:valuex", nil, ""},
		{http.MethodGet, "/v1/secrets/x", nil, ""},
		{http.MethodHead, "/v1/secrets/x:value", nil, ""},
		{http.MethodPost, "/v1/secrets/x:value", nil, ""},
		{http.MethodGet, "/v1/secrets/x:value", []string{"Te", "trailers"}, ""},
		{http.MethodGet, "/v1/secrets/x:value", []string{"Grpc-Timeout", "1S"}, ""},
	} {
		r := httptest.NewRequestWithContext(t.Context(), tt.method, tt.target, nil)
		for i := 0; i+1 < len(tt.header); i += 2 {
			r.Header.Set(tt.header[i], tt.header[i+1])
		}
		name, ok := plainSecretRead(r)
		require.Equal(t, tt.name != "", ok, "%s %s %v", tt.method, tt.target, tt.header)
		require.Equal(t, tt.name, name, "%s %s", tt.method, tt.target)
	}
}

// TestSecretReadsWithoutKeyvault: an edge without keyvault serves the
// gateway mux unchanged (its routes answer 503 there).
func TestSecretReadsWithoutKeyvault(t *testing.T) {
	mux := NewMux(slog.New(slog.DiscardHandler))
	require.Same(t, http.Handler(mux), SecretReads(nil, mux, nil))
}

// valueDouble answers GetSecretValue with its own string as the value.
type valueDouble string

func (v valueDouble) Invoke(_ context.Context, _ string, args, reply any, _ ...grpc.CallOption) error {
	in, okIn := args.(*keyvaultv1.GetSecretValueRequest)
	out, okOut := reply.(*keyvaultv1.GetSecretValueResponse)
	if !okIn || !okOut {
		return status.Error(codes.Unimplemented, "not in this double")
	}
	out.Name, out.SecretString = in.GetName(), string(v)
	return nil
}

func (valueDouble) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "not in this double")
}

// TestSecretReadAnsweredBeforeReturn: a plain read's answer of up to
// earlyFlushMax bytes is on the wire, with the Content-Length net/http
// would have set, while the layers around the handler are still busy; a
// larger one is left to net/http as before (chunked, finished when the
// handler chain returns).
func TestSecretReadAnsweredBeforeReturn(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tt := range []struct {
		name  string
		value string
		early bool
	}{
		{"small", strings.Repeat("v", 100), true},
		{"at the limit", strings.Repeat("v", earlyFlushMax-len(`{"name":"app/x","secret_string":""}`)), true},
		{"large", strings.Repeat("v", 4000), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := SecretReads(log, NewMux(log), valueDouble(tt.value))
			returned, release := make(chan struct{}), make(chan struct{})
			// ClientAddr: what the router runs before the gateway.
			srv := httptest.NewServer(middleware.ClientAddr(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(w, r)
				close(returned)
				<-release // an outer layer (access log, metrics) still at work
			})))
			defer srv.Close()
			var once sync.Once
			free := func() { once.Do(func() { close(release) }) }
			defer free() // before srv.Close, which waits for the handler
			type answer struct {
				resp *http.Response
				body string
				err  error
			}
			got := make(chan answer, 1)
			go func() {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v1/secrets/app/x:value", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					got <- answer{err: err}
					return
				}
				b, err := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				got <- answer{resp, string(b), err}
			}()
			var a answer
			if tt.early {
				select {
				case a = <-got:
				case <-time.After(10 * time.Second):
					t.Fatal("the answer was not sent before the handler chain returned")
				}
				free()
			} else {
				<-returned
				free()
				a = <-got
			}
			require.NoError(t, a.err)
			require.Equal(t, http.StatusOK, a.resp.StatusCode)
			require.Contains(t, a.body, `"secret_string":"`+tt.value+`"`)
			if tt.name == "at the limit" {
				require.Len(t, a.body, earlyFlushMax)
			}
			if tt.early {
				require.LessOrEqual(t, len(a.body), earlyFlushMax)
				require.Equal(t, int64(len(a.body)), a.resp.ContentLength)
				require.Empty(t, a.resp.TransferEncoding)
			} else {
				require.Equal(t, int64(-1), a.resp.ContentLength)
				require.Equal(t, []string{"chunked"}, a.resp.TransferEncoding)
			}
			require.Equal(t, "application/json", a.resp.Header.Get("Content-Type"))
		})
	}
}
