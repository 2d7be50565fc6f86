package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	keyvaultv1 "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
)

// secretReadPrefix and secretReadVerb frame GET /v1/secrets/{name=**}:value.
const (
	secretReadPrefix = "/v1/secrets/"
	secretReadVerb   = ":value"
)

// SecretReads returns mux with the secret read (GET
// /v1/secrets/{name=**}:value, the hottest REST route) answered directly
// when the request is plain enough that grpc-gateway's handling is known
// to the letter: no query, no escaped form of the path, a name of
// unreserved characters in non-empty segments, no Grpc-Timeout or TE
// header. Such a read goes through the same marshaler, outgoing metadata
// (Metadata: assertion, request id, client address), gRPC call and error
// handler as grpc-gateway's generated handler, without its pattern
// matching, context annotation and response forwarding (~10 % of the
// edge's CPU and ~25 % of its allocations per read, issue 15). Everything
// else goes to mux. With a nil keyvault connection, mux itself.
//
// Every layer in front of the gateway (authentication, the route policy,
// limits, the access log) runs as before: the router wraps this handler.
func SecretReads(log *slog.Logger, mux *runtime.ServeMux, keyvault grpc.ClientConnInterface) http.Handler {
	if keyvault == nil {
		return mux
	}
	return &secretReads{log: log, mux: mux, conn: keyvault}
}

type secretReads struct {
	log  *slog.Logger
	mux  *runtime.ServeMux
	conn grpc.ClientConnInterface
}

func (s *secretReads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := plainSecretRead(r)
	if !ok {
		s.mux.ServeHTTP(w, r)
		return
	}
	ctx := r.Context()
	out, ok := outgoing(ctx)
	if !ok {
		s.mux.ServeHTTP(w, r)
		return
	}
	// As the generated handler: a GET's body is read and dropped.
	if r.Body != nil && r.Body != http.NoBody {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	_, marshaler := runtime.MarshalerForRequest(s.mux, r)
	req := &keyvaultv1.GetSecretValueRequest{Name: name}
	var (
		buf  []byte
		err  error
		resp any // for ContentType, which fastJSON answers without it
	)
	if fj, ok := marshaler.(fastJSON); ok && !fj.EmitUnpopulated {
		// The answer's JSON straight from the wire (secretValueCodec):
		// the bytes fastJSON would write for the decoded message.
		ans := secretValueAnswer{defaults: fj.EmitDefaultValues}
		if err = s.conn.Invoke(out, keyvaultv1.SecretsService_GetSecretValue_FullMethodName, req, &ans, secretValueCall...); err == nil {
			buf = ans.json
			if ans.msg != nil {
				buf, err = marshaler.Marshal(ans.msg)
			}
		}
	} else {
		var msg *keyvaultv1.GetSecretValueResponse
		if msg, err = keyvaultv1.NewSecretsServiceClient(s.conn).GetSecretValue(out, req); err == nil {
			resp = msg
			buf, err = marshaler.Marshal(msg)
		}
	}
	// runtime.ForwardResponseMessage without trailers (no TE), header
	// matchers that forward nothing, no Content-Length option and no
	// response options: the content type, then the body. An error, the
	// call's or the marshaler's, goes to the mux's error handler
	// (GatewayErrorHandler).
	if err != nil {
		httperr.WriteGRPC(ctx, s.log, w, r, err)
		return
	}
	// Header().Set's key canonicalization (~340 instructions) spared: the
	// key is written canonical, and the value is a slice of its own.
	w.Header()["Content-Type"] = []string{marshaler.ContentType(resp)}
	_, _ = w.Write(buf) //nolint:gosec // G705: JSON (Content-Type application/json, nosniff) from the marshaler, as the gateway writes it
}

// PlainSecretRead reports whether r is a secret read SecretReads answers
// itself (plainSecretRead). Such a request has a clean path under /v1/
// with no escaped form and the method GET, so the router's ServeMux would
// hand it to the gateway unchanged: the router sends it there without
// the ServeMux (router.Options.GatewayFirst, ADR 0109).
func PlainSecretRead(r *http.Request) bool {
	_, ok := plainSecretRead(r)
	return ok
}

// plainSecretRead returns the secret name of a GET
// /v1/secrets/{name=**}:value that grpc-gateway would route to
// GetSecretValue with exactly that name and nothing from the query.
func plainSecretRead(r *http.Request) (string, bool) {
	if r.Method != http.MethodGet || r.URL.RawPath != "" || r.URL.RawQuery != "" || r.URL.ForceQuery {
		return "", false
	}
	name, ok := strings.CutPrefix(r.URL.Path, secretReadPrefix)
	if !ok {
		return "", false
	}
	if name, ok = strings.CutSuffix(name, secretReadVerb); !ok || !plainName(name) {
		return "", false
	}
	// grpc-gateway reads a client's Grpc-Timeout (HeaderGuard removes it
	// earlier; checked here too) and forwards trailers when TE asks.
	if _, ok := r.Header["Grpc-Timeout"]; ok {
		return "", false
	}
	if _, ok := r.Header["Te"]; ok {
		return "", false
	}
	return name, true
}

// plainName: non-empty segments of unreserved characters (RFC 3986), none
// of them "." or "..". Anything else takes grpc-gateway's own path.
func plainName(name string) bool {
	if name == "" {
		return false
	}
	seg := 0 // length of the current segment
	dots := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '/':
			if seg == 0 || seg == dots {
				return false
			}
			seg, dots = 0, 0
			continue
		case c == '.':
			dots++
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '~':
		default:
			return false
		}
		seg++
	}
	return seg > 0 && seg != dots
}

// outgoing is ctx carrying the metadata the gateway sends for a request
// the edge has handled this far: Metadata's non-empty keys (grpc-go sends
// nothing for the empty, suppressing ones, and the annotator's keys
// replace the header-derived ones). They are appended as pairs, not built
// as a metadata.MD: grpc-go validates and writes both the same way, and
// the pairs spare a map, a slice per key and two map walks per read
// (issue 15, ADR 0082). ok is false when the client address is unknown:
// grpc-gateway would then derive x-forwarded-for from the peer itself.
func outgoing(ctx context.Context) (context.Context, bool) {
	if middleware.ClientIP(ctx) == "" {
		return nil, false
	}
	var buf [2 * annotationKeys]string
	return metadata.AppendToOutgoingContext(ctx, annotations(ctx, buf[:0])...), true
}
