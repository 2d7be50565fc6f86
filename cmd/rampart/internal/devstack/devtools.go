package devstack

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

// devToolPolicy is the tool policy `rampart dev` gives inference: every
// tenant may offer any function tool (any_function), so SDK examples with
// tools work against the local models; get_weather and search_docs are
// checked against a schema and delete_file needs confirmation, to show the
// policy's effects. Production deployments write their own allow-list
// (services/inference/examples/tool-policy.json); without one no tool may
// be offered.
//
//go:embed devtools.json
var devToolPolicy []byte

// toolPolicyEnv is inference's tool policy setting.
const toolPolicyEnv = "RAMPART_INFERENCE_TOOL_POLICY"

// writeToolPolicy writes the dev tool policy into dataDir and returns the
// environment entry pointing inference at it, or nothing when the caller
// set RAMPART_INFERENCE_TOOL_POLICY (their file wins).
func writeToolPolicy(dataDir string) ([]string, error) {
	if _, ok := os.LookupEnv(toolPolicyEnv); ok {
		return nil, nil
	}
	path := filepath.Join(dataDir, "dev-tool-policy.json")
	if err := os.WriteFile(path, devToolPolicy, 0o600); err != nil {
		return nil, fmt.Errorf("write dev tool policy: %w", err)
	}
	return []string{toolPolicyEnv + "=" + path}, nil
}
