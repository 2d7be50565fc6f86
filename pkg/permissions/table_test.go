package permissions_test

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Every Rampart API, so its descriptors are in the global registry.
	_ "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	_ "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	_ "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	_ "github.com/rampart-platform/rampart/gen/go/rampart/keyvault/v1"
	_ "github.com/rampart-platform/rampart/gen/go/rampart/slackadapter/v1"

	"github.com/rampart-platform/rampart/pkg/permissions"
)

// protoDir is the repository's proto sources.
const protoDir = "../../proto"

// TestEveryProtoIsInTheRegistry: TestEveryRPCInTable sees only the
// descriptors this test binary links (the imports above), so a new API
// package nobody imported here would have no row and fail nothing
// (authorization review 7). Every .proto under proto/ must be linked.
func TestEveryProtoIsInTheRegistry(t *testing.T) {
	var files []string
	require.NoError(t, filepath.WalkDir(protoDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".proto") {
			rel, rerr := filepath.Rel(protoDir, path)
			files = append(files, filepath.ToSlash(rel))
			return rerr
		}
		return err
	}))
	require.NotEmpty(t, files)
	for _, f := range files {
		_, err := protoregistry.GlobalFiles.FindFileByPath(f)
		require.NoError(t, err, "%s is not linked into this test: import its generated package above, so TestEveryRPCInTable checks its RPCs", f)
	}
}

// protoMethods returns every RPC of every rampart.* service in the
// generated code, with its google.api.http binding ("GET /v1/keys") or "".
func protoMethods(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "rampart.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				out["/"+string(sd.FullName())+"/"+string(md.Name())] = httpBinding(t, md)
			}
		}
		return true
	})
	require.NotEmpty(t, out)
	return out
}

func httpBinding(t *testing.T, md protoreflect.MethodDescriptor) string {
	rule, ok := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if !ok || rule == nil {
		return ""
	}
	require.Empty(t, rule.GetAdditionalBindings(), "%s: additional bindings are not in the table model", md.FullName())
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "GET " + p.Get
	case *annotations.HttpRule_Post:
		return "POST " + p.Post
	case *annotations.HttpRule_Put:
		return "PUT " + p.Put
	case *annotations.HttpRule_Patch:
		return "PATCH " + p.Patch
	case *annotations.HttpRule_Delete:
		return "DELETE " + p.Delete
	default:
		t.Fatalf("%s: unsupported HTTP binding %T", md.FullName(), p)
		return ""
	}
}

// TestEveryRPCInTable: every proto RPC has a table entry and every entry is
// a proto RPC; every google.api.http binding is the route the table names
// for that RPC (a route added to a proto without a table entry fails here).
func TestEveryRPCInTable(t *testing.T) {
	tbl := permissions.Default()
	methods := protoMethods(t)
	for name, binding := range methods {
		rpc, ok := tbl.RPC(name)
		if !assertTrue(t, ok, "%s is not in the permission table (pkg/permissions/table.go)", name) {
			continue
		}
		require.NotEmpty(t, rpc.Callers, name)
		route, hasRoute := tbl.RouteOf(name)
		if binding != "" {
			if assertTrue(t, hasRoute, "%s has the REST binding %q but no route in the table", name, binding) {
				require.Equal(t, binding, route.Key(), "%s: the table's route differs from the proto's google.api.http", name)
			}
			require.True(t, rpc.Principal || route.Tenant == permissions.BindOperator,
				"%s is reached from a REST route, so it acts for a principal", name)
			require.Contains(t, rpc.Callers, permissions.Edge, "%s has a REST route, so the edge must be allowed to call it", name)
		}
	}
	for _, rpc := range tbl.RPCs() {
		_, ok := methods[rpc.Name]
		require.True(t, ok, "the table lists %s, which no proto defines", rpc.Name)
	}
	// A table route reaching an RPC without an HTTP binding is served by the
	// edge itself (the OpenAI-compatible routes).
	for _, r := range tbl.Routes() {
		if r.RPC != "" && methods[r.RPC] == "" {
			require.True(t, strings.HasPrefix(r.RPC, "/rampart.inference.v1.InferenceService/"),
				"%s reaches %s, which has no google.api.http binding and is not an OpenAI-compatible route", r.Key(), r.RPC)
		}
	}
}

func assertTrue(t *testing.T, ok bool, format string, args ...any) bool {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
	return ok
}

// TestRoutesAreCoherent: a route's scopes are known, reachable by its
// minimum role (a rule no key could satisfy is a typo), and its limits are
// set.
func TestRoutesAreCoherent(t *testing.T) {
	for _, r := range permissions.Default().Routes() {
		t.Run(r.Key(), func(t *testing.T) {
			if r.Public {
				require.Empty(t, r.Scopes)
				require.Equal(t, permissions.RateNone, r.Rate)
				return
			}
			require.NotEqual(t, permissions.RateNone, r.Rate, "authenticated routes are rate limited")
			for _, s := range r.Scopes {
				require.Contains(t, permissions.AllScopes, s)
				require.Contains(t, permissions.RoleCeiling(r.MinRole), s,
					"role %s can never hold %s, so the minimum role is wrong", r.MinRole, s)
			}
			require.True(t, r.Allows(r.MinRole, permissions.RoleCeiling(r.MinRole)))
			require.Positive(t, r.MaxBody)
		})
	}
}

func TestRoleOrderAndNames(t *testing.T) {
	require.True(t, slices.IsSorted(permissions.Roles))
	for _, r := range permissions.Roles {
		require.Equal(t, r, permissions.RoleFromName(r.String()))
	}
	require.Equal(t, permissions.RoleNone, permissions.RoleFromName("root"))
	require.Equal(t, permissions.RoleOwner, permissions.HighestRole([]string{"viewer", "owner", "x"}))
	for i := 1; i < len(permissions.Roles); i++ {
		lower, higher := permissions.RoleCeiling(permissions.Roles[i-1]), permissions.RoleCeiling(permissions.Roles[i])
		for _, s := range lower {
			require.Contains(t, higher, s, fmt.Sprintf("%s's ceiling must include %s's", permissions.Roles[i], permissions.Roles[i-1]))
		}
	}
}
