package devstack

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver: readiness and CREATE DATABASE

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/rampart-platform/rampart/pkg/store/pgserver"
)

// pgPort only names PostgreSQL's socket file (.s.PGSQL.5432): the server
// listens on no TCP port, so two stacks never compete for one.
const pgPort = 5432

// haJobLease is the ingestion job lease of a --ha stack: a killed
// replica's job is retaken after it (the production default is 2m).
const haJobLease = "15s"

// Install hints for a missing server binary.
const (
	postgresHint = "rampart dev --ha needs the PostgreSQL server binaries (initdb, postgres) on PATH or in " +
		"/usr/lib/postgresql/*/bin: install them with `apt-get install postgresql` (Debian/Ubuntu) or " +
		"`brew install postgresql` (macOS)"
	redisHint = "rampart dev --ha needs redis-server on PATH: install it with `apt-get install redis-server` " +
		"(Debian/Ubuntu) or `brew install redis` (macOS)"
)

// haTools finds the PostgreSQL bin directory and redis-server, or says
// what to install.
func haTools() (pgBin, redis string, err error) {
	pgBin, ok := findPostgresBin()
	if !ok {
		return "", "", errors.New(postgresHint)
	}
	redis, err = exec.LookPath("redis-server")
	if err != nil {
		return "", "", errors.New(redisHint)
	}
	return pgBin, redis, nil
}

// findPostgresBin returns a directory holding both initdb and postgres:
// initdb's on PATH (or its symlink target's: Debian links only some
// tools into /usr/bin), else the newest /usr/lib/postgresql/*/bin.
func findPostgresBin() (string, bool) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
		if r, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(r))
		}
	}
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versioned, func(a, b string) int { return pgVersion(b) - pgVersion(a) })
	dirs = append(dirs, versioned...)
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, true
		}
	}
	return "", false
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// infra is the PostgreSQL and Redis of a --ha stack, both on unix sockets
// in sockDir.
type infra struct {
	sockDir    string
	tmpSockDir bool // a short directory in the temp dir, removed at stop
	procs      []*infraProc
	stopping   atomic.Bool
	// exited reports a server that died while the stack ran.
	exited chan error
	wg     sync.WaitGroup
}

type infraProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	stopSig syscall.Signal
	done    chan struct{}
}

// startInfra initializes PostgreSQL in <data-dir>/postgres on first start,
// starts it and redis-server, and creates one database per service.
func startInfra(ctx context.Context, dataDir string, out io.Writer, logMaxMB, logBackups int) (*infra, error) {
	pgBin, redisBin, err := haTools()
	if err != nil {
		return nil, err
	}
	cred, err := serverCredential(dataDir)
	if err != nil {
		return nil, err
	}
	in := &infra{exited: make(chan error, 2)}
	ok := false
	defer func() {
		if !ok {
			in.stop(io.Discard)
		}
	}()
	if err := in.makeSockDir(dataDir, cred); err != nil {
		return nil, err
	}

	cluster := filepath.Join(dataDir, "postgres")
	if _, err := os.Stat(filepath.Join(cluster, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "initializing PostgreSQL in %s\n", cluster)
		if err := mkdirOwned(cluster, cred); err != nil {
			return nil, err
		}
		initdb := serverCommand(filepath.Join(pgBin, "initdb"), cred,
			"-D", cluster, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
		if b, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w\n%s", err, b)
		}
	} else if err != nil {
		return nil, fmt.Errorf("PostgreSQL data dir: %w", err)
	}
	pg := serverCommand(filepath.Join(pgBin, "postgres"), cred,
		"-D", cluster, "-k", in.sockDir, "-p", strconv.Itoa(pgPort),
		"-c", "listen_addresses=",
		// Ten replicas with pools of their own.
		"-c", "max_connections=300", "-c", "shared_buffers=64MB")
	if err := in.run("postgres", pg, dataDir, syscall.SIGINT, logMaxMB, logBackups); err != nil { // SIGINT: fast shutdown
		return nil, err
	}
	if err := in.waitPostgres(ctx); err != nil {
		return nil, err
	}

	redisDir := filepath.Join(dataDir, "redis")
	if err := os.MkdirAll(redisDir, 0o700); err != nil {
		return nil, err
	}
	// Rate limits, token buckets and stream counts are short-lived: no
	// snapshots, no append-only file.
	rd := serverCommand(redisBin, nil, "--port", "0", "--unixsocket", in.redisSocket(), "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", redisDir)
	if err := in.run("redis", rd, dataDir, syscall.SIGTERM, logMaxMB, logBackups); err != nil {
		return nil, err
	}
	if err := in.waitRedis(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "  %-14s pid %-7d socket %s\n", "postgres", pg.Process.Pid, in.sockDir)
	fmt.Fprintf(out, "  %-14s pid %-7d socket %s\n", "redis", rd.Process.Pid, in.redisSocket())
	ok = true
	return in, nil
}

// makeSockDir uses <data-dir>/run unless a socket path there would be too
// long for sockaddr_un (108 bytes), then a short temporary directory.
func (in *infra) makeSockDir(dataDir string, cred *syscall.Credential) error {
	dir := filepath.Join(dataDir, "run")
	if len(dir)+len("/.s.PGSQL.5432.lock") >= 100 {
		tmp, err := os.MkdirTemp("", "rampart-run-")
		if err != nil {
			return err
		}
		dir, in.tmpSockDir = tmp, true
	}
	in.sockDir = dir
	return mkdirOwned(dir, cred)
}

func (in *infra) redisSocket() string { return filepath.Join(in.sockDir, "redis.sock") }

// postgresURL is the URL of database db over the unix socket.
func (in *infra) postgresURL(db string) string {
	q := url.Values{"host": {in.sockDir}, "port": {strconv.Itoa(pgPort)}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + db + "?" + q.Encode()
}

func (in *infra) redisURL() string { return "unix://" + in.redisSocket() }

// run starts a server whose output goes to logs/<name>.log.
func (in *infra) run(name string, cmd *exec.Cmd, dataDir string, stopSig syscall.Signal, logMaxMB, logBackups int) error {
	p := &infraProc{name: name, cmd: cmd, stopSig: stopSig, done: make(chan struct{}),
		logPath: filepath.Join(dataDir, "logs", name+".log")}
	logFile := &lumberjack.Logger{Filename: p.logPath, MaxSize: logMaxMB, MaxBackups: logBackups}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	in.procs = append(in.procs, p)
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		err := cmd.Wait()
		_ = logFile.Close()
		close(p.done)
		if !in.stopping.Load() {
			in.exited <- fmt.Errorf("%s exited unexpectedly (%w); see %s", name, err, p.logPath)
		}
	}()
	return nil
}

func (in *infra) proc(name string) *infraProc {
	for _, p := range in.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// waitPostgres waits until PostgreSQL answers, then creates the services'
// databases that do not exist yet.
func (in *infra) waitPostgres(ctx context.Context) error {
	db, err := sql.Open("pgx", in.postgresURL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	p := in.proc("postgres")
	deadline := time.Now().Add(60 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = db.PingContext(pctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("PostgreSQL not ready after 60s: %w (see %s)", err, p.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return fmt.Errorf("postgres exited during start-up; see %s", p.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, sv := range baseServices {
		if sv.svc == "edge" {
			continue
		}
		name := databaseName(sv.svc)
		var one int
		err := db.QueryRowContext(ctx, "SELECT 1 FROM pg_database WHERE datname = $1", name).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			// The name is ours (fixed service list), not input.
			_, err = db.ExecContext(ctx, "CREATE DATABASE "+name)
		}
		if err != nil {
			return fmt.Errorf("database %s: %w", name, err)
		}
	}
	return nil
}

func databaseName(svc string) string { return "rampart_" + svc }

// waitRedis waits until redis-server answers PING on its socket.
func (in *infra) waitRedis(ctx context.Context) error {
	p := in.proc("redis")
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := redisPing(in.redisSocket())
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis not ready after 30s: %w (see %s)", err, p.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return fmt.Errorf("redis-server exited during start-up; see %s", p.logPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// redisPing speaks RESP: an inline PING is answered "+PONG".
func redisPing(socket string) error {
	c, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// stop stops Redis, then PostgreSQL (after the services: the caller defers
// it before the supervisor's stop, so it runs after).
func (in *infra) stop(out io.Writer) {
	in.stopping.Store(true)
	for i := len(in.procs) - 1; i >= 0; i-- {
		p := in.procs[i]
		_ = p.cmd.Process.Signal(p.stopSig)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			fmt.Fprintf(out, "%s did not stop within 20s; killed\n", p.name)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	in.wg.Wait()
	if in.tmpSockDir {
		_ = os.RemoveAll(in.sockDir)
	}
}

// haEnv is what --ha adds to every child's environment: the databases,
// Redis, the key files replicas of one service must share, and a short
// ingestion job lease. Each ingestion replica is named in its leases.
func haEnv(svcs []*service, dataDir string, in *infra) ([]string, error) {
	shared := filepath.Join(dataDir, "shared")
	for _, d := range []string{"auth", "keyvault", "slackadapter"} {
		if err := os.MkdirAll(filepath.Join(shared, d), 0o700); err != nil {
			return nil, err
		}
	}
	env := []string{
		"RAMPART_REDIS_URL=" + in.redisURL(),
		// Replicas of one service read the same key material, as from one
		// Kubernetes Secret; the first replica to start creates it.
		"RAMPART_AUTH_SIGNING_KEK_FILE=" + filepath.Join(shared, "auth", "signing-kek"),
		"RAMPART_KEYVAULT_KEY_DIR=" + filepath.Join(shared, "keyvault"),
		"RAMPART_SLACKADAPTER_KEK_FILE=" + filepath.Join(shared, "slackadapter", "slackadapter.kek"),
		"RAMPART_INGESTION_JOB_LEASE=" + haJobLease,
	}
	for _, svc := range []string{"keyvault", "ingestion", "slackadapter"} {
		env = append(env, "RAMPART_"+strings.ToUpper(svc)+"_DB_MAX_CONNS=8")
	}
	env = append(env, databaseEnv(in)...)
	for _, sv := range svcs {
		if sv.svc == "ingestion" {
			sv.env = append(sv.env, "RAMPART_INGESTION_REPLICA="+sv.name)
		}
	}
	return env, nil
}

// databaseEnv names each backend's PostgreSQL database.
func databaseEnv(in *infra) []string {
	var env []string
	for _, sv := range baseServices {
		if sv.svc != "edge" {
			env = append(env, "RAMPART_"+sv.envName+"_DATABASE_URL="+in.postgresURL(databaseName(sv.svc)))
		}
	}
	return env
}

// haDevEnv is what --ha adds to dev.env: where the stack's state is.
func haDevEnv(in *infra) []string {
	return append([]string{"RAMPART_REDIS_URL=" + in.redisURL()}, databaseEnv(in)...)
}

// serverCommand runs a server binary in its own process group (a Ctrl-C
// reaches the supervisor, which stops the servers after the services),
// as cred when not nil, without the caller's PG* variables.
func serverCommand(path string, cred *syscall.Credential, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...) //nolint:gosec // G204: binaries found by haTools, fixed arguments
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Env = pgserver.Env()
	return cmd
}

// serverCredential is nil unless running as root. initdb and postgres
// refuse to run as root: they run as the postgres (else nobody) account,
// which must be able to reach the data dir. The data dir is made
// traversable (0711: others may pass, not list); its parents must be too.
func serverCredential(dataDir string) (*syscall.Credential, error) {
	u, err := pgserver.Unprivileged()
	if u == nil || err != nil {
		return nil, err
	}
	if err := os.Chmod(dataDir, 0o711); err != nil { //nolint:gosec // G302: a directory, traversable but not listable by others
		return nil, err
	}
	for d := filepath.Dir(dataDir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return nil, err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return nil, fmt.Errorf("running as root, PostgreSQL runs as %s, which cannot enter %s (mode %v): "+
				"use a --data-dir whose parent directories others may traverse, or run as a normal user",
				u.Name, d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return u.Credential, nil
}

// mkdirOwned creates dir 0700, owned by cred's account when not nil.
func mkdirOwned(dir string, cred *syscall.Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if cred == nil {
		return nil
	}
	return os.Chown(dir, int(cred.Uid), int(cred.Gid))
}
