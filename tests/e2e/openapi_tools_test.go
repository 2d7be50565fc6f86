package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/tests/e2e/internal/devenv"
)

// Pinned npm tools that read the published OpenAPI document as its users'
// tools would: a linter and a TypeScript client generator.
const (
	redoclyCLI         = "@redocly/cli@2.77.0"
	openapiTypescript  = "openapi-typescript@7.13.0"
	typescriptCompiler = "typescript@5.9.3"
)

// TestOpenAPIToolsRunClean lints docs/api/openapi.json with Redocly's
// recommended rules (no error, no warning), generates TypeScript types with
// openapi-typescript and type-checks a client that uses snake_case fields,
// the error body and the Responses object against them.
func TestOpenAPIToolsRunClean(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the npm OpenAPI tools")
	}
	npm, err := exec.LookPath("npm")
	require.NoError(t, err, "npm is needed for the OpenAPI tools test (CI installs it)")
	_, err = exec.LookPath("node")
	require.NoError(t, err, "node is needed for the OpenAPI tools test")
	spec, err := filepath.Abs("../../docs/api/openapi.json")
	require.NoError(t, err)

	dir := t.TempDir()
	install := exec.Command(npm, "install", "--no-audit", "--no-fund", "--silent", redoclyCLI, openapiTypescript, typescriptCompiler)
	install.Dir = dir
	out, err := install.CombinedOutput()
	require.NoError(t, err, "npm install: %s", out)
	for _, f := range []string{"redocly.yaml", "client.ts"} {
		b, err := os.ReadFile(filepath.Join("testdata", "openapi", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o600)) //nolint:gosec // dir is t.TempDir(), f a fixed name
	}
	bin := func(name string) string { return filepath.Join(dir, "node_modules", ".bin", name) }
	run := func(name string, args ...string) string {
		cmd := exec.Command(bin(name), args...)
		cmd.Dir = dir
		cmd.Env = append(devenv.Clean(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %v: %s", name, args, out)
		return string(out)
	}
	lint := run("redocly", "lint", "--config", "redocly.yaml", "--format", "summary", spec)
	require.Contains(t, lint, "Your API description is valid", lint)
	require.NotRegexp(t, `You have \d+ warnings?`, lint) // (the Node 20 deprecation banner is not a finding)
	run("openapi-typescript", spec, "-o", "rampart.d.ts")
	run("tsc", "--noEmit", "--strict", "client.ts")
}
