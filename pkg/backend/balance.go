package backend

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc"
	_ "google.golang.org/grpc/health" // registers client-side health checking
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Retry bounds for idempotent calls: a replica that dies mid-call costs
// the caller one more attempt on another, not an error. Throttling stops
// retries from doubling the load on a fleet that is failing as a whole.
const (
	retryMaxAttempts = 3
	retryTokens      = 10
	retryTokenRatio  = 0.1
)

// staticScheme names the resolver of a comma-separated address list.
const staticScheme = "rampart-static"

// balanceOptions spreads calls over every backend addr resolves to:
// "host:port" through DNS (a Kubernetes headless service lists every pod),
// "h1:p1,h2:p2" as a static list. Calls go round_robin to the backends
// whose gRPC health check says SERVING (a replica draining for shutdown
// says NOT_SERVING first), and idempotent methods are retried.
func balanceOptions(addr string) (target string, opts []grpc.DialOption) {
	opts = []grpc.DialOption{
		grpc.WithDefaultServiceConfig(serviceConfig()),
		// The config is ours: a DNS TXT record must not replace it.
		grpc.WithDisableServiceConfig(),
	}
	if !strings.Contains(addr, ",") {
		return addr, opts
	}
	r := manual.NewBuilderWithScheme(staticScheme)
	var st resolver.State
	for a := range strings.SplitSeq(addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			st.Addresses = append(st.Addresses, resolver.Address{Addr: a})
		}
	}
	r.InitialState(st)
	return staticScheme + ":///" + addr, append(opts, grpc.WithResolvers(r))
}

// serviceConfig is computed once: every method that its proto marks
// idempotent (idempotency_level IDEMPOTENT or NO_SIDE_EFFECTS) is retried
// on UNAVAILABLE. Others are never retried here: a write that may have
// happened is the caller's to repeat, with its idempotency token.
var serviceConfig = sync.OnceValue(func() string {
	type name struct {
		Service string `json:"service"`
		Method  string `json:"method"`
	}
	var names []name
	for _, m := range idempotentMethods() {
		svc, method, _ := strings.Cut(m, "/")
		names = append(names, name{svc, method})
	}
	cfg := map[string]any{
		"loadBalancingConfig": []any{map[string]any{"round_robin": map[string]any{}}},
		"healthCheckConfig":   map[string]any{"serviceName": ""},
		"retryThrottling":     map[string]any{"maxTokens": retryTokens, "tokenRatio": retryTokenRatio},
	}
	if len(names) > 0 {
		cfg["methodConfig"] = []any{map[string]any{
			"name": names,
			"retryPolicy": map[string]any{
				"maxAttempts":          retryMaxAttempts,
				"initialBackoff":       "0.05s",
				"maxBackoff":           "0.5s",
				"backoffMultiplier":    2,
				"retryableStatusCodes": []string{"UNAVAILABLE"},
			},
		}}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(fmt.Sprintf("backend: service config: %v", err)) // static shape: cannot fail
	}
	return string(b)
})

// idempotentMethods lists "package.Service/Method" for every Rampart
// method registered in this binary whose proto declares it idempotent.
func idempotentMethods() []string {
	var out []string
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "rampart.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				opts, ok := md.Options().(*descriptorpb.MethodOptions)
				if ok && opts.GetIdempotencyLevel() != descriptorpb.MethodOptions_IDEMPOTENCY_UNKNOWN {
					out = append(out, string(sd.FullName())+"/"+string(md.Name()))
				}
			}
		}
		return true
	})
	return out
}
