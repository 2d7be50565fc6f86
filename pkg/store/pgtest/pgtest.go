//go:build unix

package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the readiness probe

	"github.com/rampart-platform/rampart/pkg/store/internal/testproc"
	"github.com/rampart-platform/rampart/pkg/store/pgserver"
)

// Database is the name of the database Start creates.
const Database = "rampart"

const installHint = "pgtest: PostgreSQL server binaries (initdb, postgres) not found on PATH or in " +
	"/usr/lib/postgresql/*/bin; install them with: apt-get install postgresql (Debian/Ubuntu), " +
	"brew install postgresql (macOS)"

// Start starts a fresh PostgreSQL server for t and returns the URL of an
// empty database on it. The server is stopped and its files deleted when the
// test ends. See the package documentation for where the binaries come from
// and how root is handled.
func Start(t testing.TB) string {
	t.Helper()
	bin, ok := findBinDir()
	if !ok {
		testproc.Missing(t, installHint)
		return ""
	}

	dir, err := os.MkdirTemp("", "rampart-pg-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("pgtest: remove %s: %v", dir, err)
		}
	})
	cred, err := credentialFor(dir)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	data := filepath.Join(dir, "data")

	initdb := command(bin, "initdb", dir, cred,
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if err := testproc.Run(initdb); err != nil {
		t.Fatalf("pgtest: initdb: %v", err)
	}

	var lastErr error
	for range 3 { // a free port can be taken before postgres binds it
		port, err := testproc.FreePort()
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		url, err := start(t, bin, dir, data, cred, port)
		if err == nil {
			return url
		}
		lastErr = err
	}
	t.Fatalf("pgtest: %v", lastErr)
	return ""
}

// start runs postgres on port and waits until it accepts connections and the
// test database exists. On failure the process is stopped.
func start(t testing.TB, bin, dir, data string, cred *syscall.Credential, port int) (string, error) {
	t.Helper()
	cmd := command(bin, "postgres", dir, cred,
		"-D", data,
		"-p", strconv.Itoa(port),
		"-k", dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB",
		"-c", "max_connections=100",
	)
	proc, err := testproc.Start(cmd)
	if err != nil {
		return "", err
	}
	stop := func() error { return proc.Stop(syscall.SIGINT, 15*time.Second) } // SIGINT = fast shutdown
	base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d", port)
	if err := waitReady(proc, base+"/postgres?sslmode=disable", 30*time.Second); err != nil {
		_ = stop()
		return "", err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("pgtest: stop postgres: %v\n%s", err, proc.Output())
		}
	})
	return base + "/" + Database + "?sslmode=disable", nil
}

// waitReady polls until the server answers and creates the test database.
func waitReady(proc *testproc.Process, adminURL string, timeout time.Duration) error {
	db, err := sql.Open("pgx", adminURL)
	if err != nil {
		return fmt.Errorf("open %s: %w", adminURL, err)
	}
	defer db.Close()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return createDatabase(db)
		}
		select {
		case <-proc.Exited():
			return fmt.Errorf("postgres exited during startup (%w):\n%s", proc.ExitErr(), proc.Output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %s: %w\n%s", timeout, err, proc.Output())
		}
	}
}

// createDatabase creates the test database. It gets its own, generous
// timeout: on a loaded machine (CI, or many test binaries starting postgres
// at once) copying the template took more than the 2 s a ping gets.
func createDatabase(db *sql.DB) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+Database); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	return nil
}

func findBinDir() (string, bool) {
	candidates := testproc.PathDirs("initdb")
	candidates = append(candidates, testproc.VersionedDirs("/usr/lib/postgresql/*/bin")...)
	candidates = append(candidates, "/usr/local/pgsql/bin")
	return testproc.FindDir(candidates, "initdb", "postgres")
}

// command builds a server command running in dir, as cred if not nil, with
// a clean environment (no PG* variables leaking in from the caller).
func command(bin, name, dir string, cred *syscall.Credential, args ...string) *exec.Cmd {
	cmd := testproc.Command(filepath.Join(bin, name), args...)
	cmd.Dir = dir
	cmd.SysProcAttr.Credential = cred
	cmd.Env = pgserver.Env()
	return cmd
}

// credentialFor returns nil when not running as root. As root it picks an
// unprivileged account, hands dir to it and returns its credential.
func credentialFor(dir string) (*syscall.Credential, error) {
	u, err := pgserver.Unprivileged()
	if u == nil || err != nil {
		return nil, err
	}
	if err := os.Chown(dir, int(u.Credential.Uid), int(u.Credential.Gid)); err != nil {
		return nil, fmt.Errorf("hand %s to user %s: %w", dir, u.Name, err)
	}
	return u.Credential, nil
}
