package cli

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/devstack"
)

func newDevCmd() *cobra.Command {
	var cfg devstack.Config
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole stack on loopback with dev PKI and SQLite (--ha: PostgreSQL, Redis, two replicas of each); writes dev.env",
		Args:  exactArgs(0), // `rampart dev ha` must not start the SQLite stack
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Out = cmd.OutOrStdout()
			if cfg.BinDir == "" && cfg.RepoRoot == "" {
				root, err := findRepoRoot()
				if err != nil {
					return err
				}
				cfg.RepoRoot = root
			}
			return devstack.Run(cmd.Context(), cfg)
		},
	}
	cmd.Flags().StringVar(&cfg.DataDir, "data-dir", dataDir(), "data directory (env RAMPART_DATA_DIR)")
	cmd.Flags().StringVar(&cfg.BinDir, "bin-dir", "", "use prebuilt service binaries from this directory instead of building")
	cmd.Flags().StringVar(&cfg.HTTPAddr, "http-addr", envOr("RAMPART_HTTP_ADDR", "127.0.0.1:8080"), "edge listen address (env RAMPART_HTTP_ADDR)")
	cmd.Flags().IntVar(&cfg.LogMaxMB, "log-max-mb", 100, "rotate each service's log in <data-dir>/logs at this size")
	cmd.Flags().IntVar(&cfg.LogBackups, "log-backups", 3, "rotated log files kept per service")
	cmd.Flags().BoolVar(&cfg.HA, "ha", false, "PostgreSQL and Redis (initdb, postgres, redis-server from PATH) in the data dir, two replicas of every backend and two edges")
	cmd.Flags().BoolVar(&cfg.AnyPorts, "any-ports", false, "bind every service port where the kernel chooses, not the well-known 7001…/9001… (for tests that restart replicas while other stacks start)")
	cmd.Flags().DurationVar(&cfg.StartTimeout, "start-timeout", 60*time.Second, "how long each service may take to become healthy")
	return cmd
}

func dataDir() string { return envOr("RAMPART_DATA_DIR", ".rampart") }

// defaultCertDir is where the operator verbs find rampart-cli.crt/.key:
// RAMPART_CERT_DIR, else RAMPART_CA_DIR (what dev.env exports, an absolute
// path, so `set -a; . .rampart/dev.env` works from any directory), else
// the data dir's pki.
func defaultCertDir() string {
	return envOr("RAMPART_CERT_DIR", envOr("RAMPART_CA_DIR", filepath.Join(dataDir(), "pki")))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// findRepoRoot walks up from the working directory to the go.work file.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the Rampart checkout (no go.work found); pass --bin-dir with prebuilt binaries")
		}
		dir = parent
	}
}

// certDirHelp is the --cert-dir help of every operator verb.
const certDirHelp = "PKI directory holding rampart-cli.crt/.key and ca.crt (env RAMPART_CERT_DIR, else RAMPART_CA_DIR from dev.env)"
