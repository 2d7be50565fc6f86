package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/rampart-platform/rampart/pkg/logging"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/edge/internal/authn"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
	"github.com/rampart-platform/rampart/services/edge/internal/middleware"
)

// MarshalOptions are how every REST response is written (docs/api/README.md,
// ADR 0070): proto field names (snake_case, as the OpenAPI document says),
// and every field without presence is written even at its zero value, so
// an empty list is [] and a zero count 0 rather than a missing member; a
// message field, a oneof member or a proto3 optional field that is not
// set is left out (EmitDefaultValues, not EmitUnpopulated, which would
// write null for them). 64-bit integers are JSON strings (protojson's
// canonical form, as Google's APIs write them: a JSON number loses
// precision past 2^53 in JavaScript).
var MarshalOptions = protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}

// NewMux returns the configured, still empty, gateway mux. Register adds
// the routes.
func NewMux(log *slog.Logger) *runtime.ServeMux {
	marshaler := fastJSON{&runtime.JSONPb{
		MarshalOptions:   MarshalOptions,
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
	deny := func(string) (string, bool) { return "", false }
	return runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(deny),
		runtime.WithOutgoingTrailerMatcher(deny),
		runtime.WithMetadata(Metadata),
		runtime.WithErrorHandler(httperr.GatewayErrorHandler(log, BodyField)),
		runtime.WithRoutingErrorHandler(httperr.RoutingErrorHandler()),
		// X-HTTP-Method-Override would let a POST be routed as another
		// method after the edge's per-method scope check.
		runtime.WithDisableHTTPMethodOverride(),
	)
}

// incomingHeader forwards x-request-id only.
func incomingHeader(key string) (string, bool) {
	if strings.EqualFold(key, middleware.RequestIDHeader) {
		return "x-request-id", true
	}
	return "", false
}

// suppressed are metadata keys grpc-gateway derives from the request
// whatever the header matcher says: the Authorization header (forwarded
// unprefixed "for backwards compatibility") and x-forwarded-host (from the
// client's Host header). Both are client-controlled; no backend may see
// them. (x-forwarded-for is replaced by the edge's own value below.)
var suppressed = []string{"authorization", "x-forwarded-host"}

// Metadata is the gateway's metadata annotator: the assertion of the
// authenticated principal, the request id and the client address. The
// gateway lets annotator values replace header-derived ones: a key the
// annotator returns with no values removes the header-derived key, and
// grpc-go sends nothing for a key without values.
func Metadata(ctx context.Context, _ *http.Request) metadata.MD {
	md := make(metadata.MD, len(suppressed)+annotationKeys)
	for _, k := range suppressed {
		md[k] = []string{}
	}
	var buf [2 * annotationKeys]string
	kv := annotations(ctx, buf[:0])
	for i := 0; i+1 < len(kv); i += 2 {
		md[kv[i]] = append(md[kv[i]], kv[i+1]) // delegations repeat their key
	}
	return md
}

// annotationKeys is how many keys annotations may append besides the
// delegations (which grow kv past it).
const annotationKeys = 3

// annotations appends the edge's own keys to kv as key, value pairs: the
// assertion, the request id and the client address, each when known.
func annotations(ctx context.Context, kv []string) []string {
	if _, assertion, ok := authn.FromContext(ctx); ok {
		kv = append(kv, principal.MetadataKey, assertion)
		// The delegations for the services the backend forwards the
		// principal to (ADR 0083), one pair each.
		for _, d := range authn.Delegated(ctx) {
			kv = append(kv, principal.DelegatedKey, d)
		}
	}
	if id := logging.RequestID(ctx); id != "" {
		kv = append(kv, "x-request-id", id)
	}
	if ip := middleware.ClientIP(ctx); ip != "" {
		kv = append(kv, "x-forwarded-for", ip)
	}
	return kv
}
