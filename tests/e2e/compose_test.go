package e2e

import (
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/permissions"
)

// repoRoot is where docker-compose.yml, .dockerignore and deploy/ live.
const repoRoot = "../.."

// loadCompose loads docker-compose.yml with compose-go the way `docker
// compose` does (schema validation, interpolation, normalisation,
// consistency checks), with env as the only environment.
func loadCompose(t *testing.T, env ...string) *types.Project {
	t.Helper()
	return loadComposeProfiles(t, nil, env...)
}

// loadComposeProfiles is loadCompose with these profiles enabled (docker
// compose --profile).
func loadComposeProfiles(t *testing.T, profiles []string, env ...string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(repoRoot, "docker-compose.yml")},
		cli.WithWorkingDirectory(repoRoot),
		cli.WithEnv(env),
		cli.WithProfiles(profiles),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	require.NoError(t, err)
	p, err := opts.LoadProject(t.Context())
	require.NoError(t, err, "docker-compose.yml must load with compose-go")
	return p
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	return p
}

func TestComposeLoads(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	require.Equal(t, "rampart", p.Name)

	want := append([]string{"pki"}, config.Services()...)
	require.ElementsMatch(t, want, p.ServiceNames(), "the six services and the pki job, nothing else")

	require.Contains(t, p.Networks, "backend")
	require.True(t, p.Networks["backend"].Internal, "backend network must be internal (no route out)")
	require.Contains(t, p.Networks, "public")
	require.False(t, p.Networks["public"].Internal)

	require.Contains(t, p.Volumes, "certs")
	for _, svc := range config.Services() {
		require.Contains(t, p.Volumes, svc+"-data")
	}
}

func TestComposePKIJob(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	pki, err := p.GetService("pki")
	require.NoError(t, err)

	require.Equal(t, "rampart", *pki.Build.Args["SERVICE"], "pki runs the operator CLI image")
	require.Equal(t, types.ShellCommand{"pki", "init", "--dir", "/pki"}, pki.Command)
	require.Equal(t, "none", pki.NetworkMode, "the pki job needs no network")
	require.Empty(t, pki.Ports)
	require.Contains(t, []string{"", "no"}, pki.Restart, "a one-shot job must not restart")
	require.Len(t, pki.Volumes, 1)
	require.Equal(t, "certs", pki.Volumes[0].Source)
	require.Equal(t, "/pki", pki.Volumes[0].Target)
	require.False(t, pki.Volumes[0].ReadOnly, "pki writes the certificates")
	requireHardened(t, pki)
}

// TestComposeCLITool: the operator CLI container (how a compose deployment
// gets its first key: `docker compose run --rm cli tenant bootstrap`) is
// not started by `up`, runs hardened on the backend network only, reads
// the certificates without writing them and publishes nothing.
func TestComposeCLITool(t *testing.T) {
	t.Parallel()
	require.NotContains(t, loadCompose(t).ServiceNames(), "cli", "not part of `docker compose up`")

	p := loadComposeProfiles(t, []string{"tools"})
	c, err := p.GetService("cli")
	require.NoError(t, err)
	require.Equal(t, []string{"tools"}, c.Profiles)
	require.Equal(t, "rampart", *c.Build.Args["SERVICE"], "the operator CLI image")
	require.Empty(t, c.Command, "the verb comes from `docker compose run`")
	require.Equal(t, []string{"backend"}, keys(c.Networks), "reaches auth and the edge, nothing outside")
	require.Empty(t, c.Ports)
	require.Contains(t, []string{"", "no"}, c.Restart)
	require.Len(t, c.Volumes, 1)
	require.Equal(t, "certs", c.Volumes[0].Source)
	require.Equal(t, "/pki", c.Volumes[0].Target)
	require.True(t, c.Volumes[0].ReadOnly, "the CLI only reads its certificate")
	require.Equal(t, "/pki", *c.Environment["RAMPART_CERT_DIR"])
	require.Equal(t, "auth:"+port(t, config.DefaultAddr("auth")), *c.Environment["RAMPART_AUTH_ADDR"])
	require.Equal(t, "http://edge:8080", *c.Environment["RAMPART_URL"])
	require.Equal(t, types.ServiceConditionHealthy, c.DependsOn["auth"].Condition)
	requireHardened(t, c)
}

func requireHardened(t *testing.T, s types.ServiceConfig) {
	t.Helper()
	require.False(t, s.Privileged, "privileged")
	require.True(t, s.ReadOnly, "read_only root filesystem")
	require.Equal(t, []string{"ALL"}, s.CapDrop, "cap_drop")
	require.Empty(t, s.CapAdd, "cap_add")
	require.Contains(t, s.SecurityOpt, "no-new-privileges:true")
	require.Equal(t, "65532:65532", s.User, "runs as the distroless nonroot user")
	require.NotEqual(t, "host", s.NetworkMode)
	require.Empty(t, s.Pid, "pid namespace")
	require.Empty(t, s.Ipc, "ipc namespace")
	require.Empty(t, s.Devices, "devices")
	for _, v := range s.Volumes {
		require.NotEqual(t, types.VolumeTypeBind, v.Type, "no host bind mounts (%s)", v.Target)
	}
	require.NotNil(t, s.Build)
	require.Equal(t, "deploy/Dockerfile", s.Build.Dockerfile)
	require.FileExists(t, filepath.Join(s.Build.Context, s.Build.Dockerfile))
}

func TestComposeServices(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	dialTargets := map[string]string{}
	for _, svc := range config.Services() {
		if svc != "edge" {
			dialTargets["RAMPART_"+strings.ToUpper(svc)+"_ADDR"] = svc + ":" + port(t, config.DefaultAddr(svc))
		}
	}

	for _, name := range config.Services() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := p.GetService(name)
			require.NoError(t, err)
			requireHardened(t, s)
			require.Equal(t, name, *s.Build.Args["SERVICE"], "built from deploy/Dockerfile with its own SERVICE")
			require.Equal(t, "unless-stopped", s.Restart)

			// PKI: waits for the job, mounts its output read-only.
			require.Equal(t, types.ServiceConditionCompletedSuccessfully, s.DependsOn["pki"].Condition,
				"must start only after the pki job completed")
			var certs, data *types.ServiceVolumeConfig
			for i, v := range s.Volumes {
				switch v.Source {
				case "certs":
					certs = &s.Volumes[i]
				case name + "-data":
					data = &s.Volumes[i]
				}
			}
			require.NotNil(t, certs, "mounts the certs volume")
			require.Equal(t, "/pki", certs.Target)
			require.True(t, certs.ReadOnly, "certs must be mounted read-only")
			require.NotNil(t, data, "has its own data volume %s-data", name)
			require.Equal(t, types.VolumeTypeVolume, data.Type)
			require.Equal(t, "/data", data.Target)
			require.False(t, data.ReadOnly)
			require.Len(t, s.Volumes, 2, "certs and its own data, nothing shared")
			require.Contains(t, s.Tmpfs, "/tmp:rw,noexec,nosuid,size=64m", "scratch space despite the read-only root")

			// Health: the binary's own healthcheck mode.
			require.NotNil(t, s.HealthCheck, "long-running services need a healthcheck")
			require.False(t, s.HealthCheck.Disable)
			require.Equal(t, types.HealthCheckTest{"CMD", "/usr/local/bin/" + name, "healthcheck"}, s.HealthCheck.Test)
			require.NotNil(t, s.HealthCheck.Interval)
			require.NotNil(t, s.HealthCheck.Retries)

			// Environment per docs/conventions.md.
			prefix := config.Prefix(name)
			env := func(k string) string {
				t.Helper()
				v, ok := s.Environment[k]
				require.True(t, ok && v != nil, "environment %s is set", k)
				return *v
			}
			require.Equal(t, "0.0.0.0:"+port(t, config.DefaultAddr(name)), env(prefix+"LISTEN_ADDR"))
			require.Equal(t, "0.0.0.0:"+port(t, config.DefaultAdminAddr(name)), env(prefix+"ADMIN_ADDR"))
			require.Equal(t, "/data", env(prefix+"DATA_DIR"))
			require.Equal(t, "/pki", env("RAMPART_CERT_DIR"))
			require.Equal(t, config.ProfileProd, env("RAMPART_PROFILE"))
			_, err = config.ParseLogLevel(env(prefix + "LOG_LEVEL"))
			require.NoError(t, err)
			for k, v := range dialTargets {
				require.Equal(t, v, env(k))
			}
			// The environment must load and validate with the shared config.
			c := config.Defaults(name)
			require.NoError(t, config.LoadWith(prefix, &c, nil, func(k string) (string, bool) {
				v, ok := s.Environment[k]
				if !ok || v == nil {
					return "", false
				}
				return *v, true
			}))

			// Networks and ports: only the edge is reachable from outside.
			require.Contains(t, s.Networks, "backend")
			switch name {
			case "edge":
				require.Contains(t, s.Networks, "public")
				require.Equal(t, "0.0.0.0:8080", env("RAMPART_HTTP_ADDR"))
				require.Len(t, s.Ports, 1)
				require.EqualValues(t, 8080, s.Ports[0].Target)
				require.Equal(t, "8080", s.Ports[0].Published)
				for _, other := range config.Services() {
					if other != "edge" {
						require.Equal(t, types.ServiceConditionHealthy, s.DependsOn[other].Condition,
							"the edge opens only once its backends are ready")
					}
				}
			case "slackadapter":
				// Replies go to slack.com: outbound-only network, no published port.
				require.Empty(t, s.Ports, "only the edge publishes ports")
				require.ElementsMatch(t, []string{"backend", "egress"}, keys(s.Networks))
			default:
				require.Empty(t, s.Ports, "only the edge publishes ports")
				require.Equal(t, []string{"backend"}, keys(s.Networks), "internal network only")
			}
			if name != "auth" {
				require.Equal(t, types.ServiceConditionHealthy, s.DependsOn["auth"].Condition,
					"needs auth's principal-assertion keys at start")
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestComposeNetworksCarryNoPublishedPortsExceptEdge(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	for name, s := range p.Services {
		if name != "edge" {
			require.Empty(t, s.Ports, "%s publishes ports", name)
			require.NotContains(t, s.Networks, "public", "%s is on the public network", name)
		}
		require.Empty(t, s.Expose, "%s exposes ports", name)
	}
}

func TestComposeEdgePublishAddressIsConfigurable(t *testing.T) {
	t.Parallel()
	// The edge's port is plain HTTP: by default only loopback reaches it.
	def, err := loadCompose(t).GetService("edge")
	require.NoError(t, err)
	require.Len(t, def.Ports, 1)
	require.Equal(t, "127.0.0.1", def.Ports[0].HostIP, "the plain-HTTP port is not published on every interface by default")
	require.Equal(t, "8080", def.Ports[0].Published)

	p := loadCompose(t, "RAMPART_EDGE_PUBLISH=127.0.0.1:18080")
	edge, err := p.GetService("edge")
	require.NoError(t, err)
	require.Len(t, edge.Ports, 1)
	require.Equal(t, "127.0.0.1", edge.Ports[0].HostIP)
	require.Equal(t, "18080", edge.Ports[0].Published)
	require.EqualValues(t, 8080, edge.Ports[0].Target)
}

func TestComposeDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "Dockerfile"))
	require.NoError(t, err)
	df := string(b)
	for _, want := range []string{
		"ARG SERVICE",
		"FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build",
		"CGO_ENABLED=0",
		"-trimpath",
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"USER 65532:65532",
		`ENTRYPOINT ["/usr/local/bin/entrypoint"]`,
		`./services/${SERVICE}/cmd/${SERVICE}`,
		"./cmd/rampart",
	} {
		require.Contains(t, df, want)
	}
	require.Contains(t, df, "ARG GO_VERSION=1.27.3")
	for _, svc := range append(config.Services(), "rampart") {
		require.Contains(t, df, svc, "the SERVICE switch knows %s", svc)
	}
	require.NotContains(t, df, "USER root")

	ign, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	require.NoError(t, err)
	lines := strings.Split(string(ign), "\n")
	for _, want := range []string{".git", ".rampart", "*.key", "*.pem", "**/*.key"} {
		require.Contains(t, lines, want, ".dockerignore keeps %s out of the build context", want)
	}
	for _, mustStay := range []string{"tests", "tests/e2e", "gen", "pkg", "services", "cmd", "go.work"} {
		require.NotContains(t, lines, mustStay, "go.work needs %s in the build context", mustStay)
	}
}

// TestComposeStartOrderFollowsCalls derives the start order from the
// permission table: a service that calls another (and is not called back by
// it, which compose could not order) starts only once the callee is healthy,
// so its first requests (a Slack event right after start, a binding check)
// do not meet a backend that is still coming up.
func TestComposeStartOrderFollowsCalls(t *testing.T) {
	t.Parallel()
	p := loadCompose(t)
	calls := map[[2]string]bool{}
	for _, rpc := range permissions.Default().RPCs() {
		// "/rampart.<svc>.v1.Service" -> "<svc>"
		parts := strings.Split(strings.TrimPrefix(rpc.Service(), "/"), ".")
		require.GreaterOrEqual(t, len(parts), 2, rpc.Name)
		for _, caller := range rpc.Callers {
			calls[[2]string{caller, parts[1]}] = true
		}
	}
	services := config.Services()
	checked := 0
	edges := slices.SortedFunc(maps.Keys(calls), func(a, b [2]string) int {
		return strings.Compare(a[0]+" "+a[1], b[0]+" "+b[1])
	})
	for _, edge := range edges {
		caller, callee := edge[0], edge[1]
		if caller == callee || !slices.Contains(services, caller) || calls[[2]string{callee, caller}] {
			continue
		}
		s, err := p.GetService(caller)
		require.NoError(t, err)
		require.Equal(t, types.ServiceConditionHealthy, s.DependsOn[callee].Condition,
			"%s calls %s (pkg/permissions): it must depend_on it with condition service_healthy", caller, callee)
		checked++
	}
	require.Positive(t, checked)
}
