package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/pkiops"
	"github.com/rampart-platform/rampart/pkg/listen"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// Config says where the stack lives and how it is built.
type Config struct {
	// RepoRoot is the checkout (holding go.work); binaries are built from it
	// unless BinDir already holds them.
	RepoRoot string
	// DataDir holds pki/, logs/, bin/, per-service data and dev.env.
	DataDir string
	// BinDir holds prebuilt service binaries; empty means build into DataDir/bin.
	BinDir string
	// HTTPAddr is the edge's public listener.
	HTTPAddr string
	// LogMaxMB rotates a service's log file at this size (default 100);
	// LogBackups old files are kept (default 3).
	LogMaxMB, LogBackups int
	// StartTimeout bounds the wait for each service to become healthy.
	StartTimeout time.Duration
	// HA runs PostgreSQL, Redis, two replicas of every backend and two
	// edges (ha.go), with a control API to kill and restart one replica.
	HA bool
	// AnyPorts binds every service port where the kernel chooses instead
	// of the well-known dev ports (7001…, 9001…). A chaos test sets it: a
	// killed replica's port is free until its restart binds it again, and
	// another stack starting meanwhile prefers the well-known ones.
	AnyPorts bool
	// Out receives progress and the "try it" text.
	Out io.Writer
}

type service struct {
	svc        string // binary and mTLS identity: auth, keyvault, ...
	name       string // process name: svc, or svc-N with --ha
	envName    string // AUTH, KEYVAULT, ...
	replica    int    // 1-based; 0 without --ha
	anyPort    bool   // Config.AnyPorts
	grpcPort   int
	adminPort  int
	listenAddr string // the real address, for clients and dev.env
	adminAddr  string
	// The sockets the supervisor bound; handed to the child as fd 3 and 4,
	// then closed here.
	listenSock, adminSock *net.TCPListener
	cmd                   *exec.Cmd
	logPath               string
	// env is this process's own environment, appended after the shared
	// one (a later duplicate wins in os/exec): its data dir, replica name.
	env []string
	// done is closed when the current process exits; killed marks an exit
	// the control API asked for (not a crash). Both under supervisor.mu.
	done   chan struct{}
	killed bool
}

// baseServices lists the services in start order: every backend fetches
// auth's signing keys at start, and the edge needs all of them.
var baseServices = []service{
	{svc: "auth", envName: "AUTH", grpcPort: 7001, adminPort: 9001},
	{svc: "keyvault", envName: "KEYVAULT", grpcPort: 7002, adminPort: 9002},
	{svc: "inference", envName: "INFERENCE", grpcPort: 7003, adminPort: 9003},
	{svc: "ingestion", envName: "INGESTION", grpcPort: 7004, adminPort: 9004},
	{svc: "slackadapter", envName: "SLACKADAPTER", grpcPort: 7005, adminPort: 9005},
	{svc: "edge", envName: "EDGE", adminPort: 9006},
}

// newServices returns the processes of the stack in start order: one per
// service, or with replicas > 1 that many of each, named svc-1, svc-2, …
// on the well-known ports plus 10 per replica (7001, 7011, …).
func newServices(replicas int) []*service {
	var out []*service
	for _, b := range baseServices {
		if replicas <= 1 {
			sv := b
			sv.name = sv.svc
			out = append(out, &sv)
			continue
		}
		for r := 1; r <= replicas; r++ {
			sv := b
			sv.name = fmt.Sprintf("%s-%d", sv.svc, r)
			sv.replica = r
			if sv.grpcPort != 0 {
				sv.grpcPort += 10 * (r - 1)
			}
			sv.adminPort += 10 * (r - 1)
			out = append(out, &sv)
		}
	}
	return out
}

// stackServices returns the processes cfg asks for: two of each with HA.
func stackServices(cfg Config) []*service {
	replicas := 1
	if cfg.HA {
		replicas = 2
	}
	svcs := newServices(replicas)
	for _, sv := range svcs {
		sv.anyPort = cfg.AnyPorts
	}
	return svcs
}

// edges returns the edge processes, the first one being RAMPART_URL.
func edges(svcs []*service) []*service {
	var out []*service
	for _, sv := range svcs {
		if sv.svc == "edge" {
			out = append(out, sv)
		}
	}
	return out
}

// joinAddrs is the comma list of svc's replicas' addresses (pkg/backend
// balances round_robin over such a list).
func joinAddrs(svcs []*service, svc string, admin bool) string {
	var addrs []string
	for _, sv := range svcs {
		if sv.svc != svc {
			continue
		}
		if admin {
			addrs = append(addrs, sv.adminAddr)
		} else {
			addrs = append(addrs, sv.listenAddr)
		}
	}
	return strings.Join(addrs, ",")
}

// Run starts the stack and blocks until ctx is cancelled (clean stop, nil
// error) or a child dies (error naming it).
func Run(ctx context.Context, cfg Config) error {
	certDir, binDir, err := prepare(ctx, &cfg)
	if err != nil {
		return err
	}
	dataDir := cfg.DataDir

	svcs := stackServices(cfg)
	defer closeSockets(svcs)
	if err := bindAddrs(svcs, cfg.HTTPAddr); err != nil {
		return err
	}
	cfg.HTTPAddr = edges(svcs)[0].listenAddr // the real port, also for ":0"
	env := stackEnv(svcs, dataDir, certDir)
	tools, err := writeToolPolicy(dataDir)
	if err != nil {
		return err
	}
	env = append(env, tools...)

	var servers *infra
	if cfg.HA {
		servers, err = startInfra(ctx, dataDir, cfg.Out, cfg.LogMaxMB, cfg.LogBackups)
		if err != nil {
			return err
		}
		defer servers.stop(cfg.Out)
		extra, err := haEnv(svcs, dataDir, servers)
		if err != nil {
			return err
		}
		env = append(env, extra...)
	}

	cli, err := mtls.NewSource(mtls.FilesFor(certDir, pkiops.CLIName))
	if err != nil {
		return fmt.Errorf("load CLI certificate: %w", err)
	}

	s := &supervisor{out: cfg.Out, exited: make(chan exitInfo, 4*len(svcs)), logMaxMB: cfg.LogMaxMB, logBackups: cfg.LogBackups,
		binDir: binDir, dataDir: dataDir, env: env, cli: cli, startTimeout: cfg.StartTimeout}
	defer func() { _ = s.stopAll() }()

	// auth first, then the backends, then the edge; one at a time, so the
	// first replica creates the key files the second one reads.
	for _, sv := range svcs {
		if err := s.start(sv); err != nil {
			return err
		}
		if err := s.waitHealthy(ctx, sv, s.exited); err != nil {
			return err
		}
	}

	infraExited, closeCtl, err := publish(ctx, cfg, s, svcs, servers, cli, certDir)
	if err != nil {
		return err
	}
	defer closeCtl()

	select {
	case <-ctx.Done():
		fmt.Fprintln(cfg.Out, "\nstopping the stack…")
		return s.stopAll()
	case e := <-s.exited:
		s.report(e)
		_ = s.stopAll()
		return fmt.Errorf("%s exited unexpectedly (%w); see %s", e.svc.name, e.err, e.svc.logPath)
	case err := <-infraExited:
		_ = s.stopAll()
		return err
	}
}

// prepare fills in cfg's defaults, makes the data directory absolute and
// creates it, issues or renews the dev PKI and builds the binaries (unless
// cfg.BinDir has them).
func prepare(ctx context.Context, cfg *Config) (certDir, binDir string, err error) {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.LogMaxMB <= 0 {
		cfg.LogMaxMB = 100
	}
	if cfg.LogBackups <= 0 {
		cfg.LogBackups = 3
	}
	if cfg.HA {
		// Say what to install before building anything.
		if _, _, err := haTools(); err != nil {
			return "", "", err
		}
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return "", "", err
	}
	cfg.DataDir = dataDir
	for _, d := range []string{"", "logs"} {
		if err := os.MkdirAll(filepath.Join(dataDir, d), 0o700); err != nil {
			return "", "", fmt.Errorf("create data dir: %w", err)
		}
	}
	certDir = filepath.Join(dataDir, "pki")
	res, err := pkiops.Init(pkiops.Options{Dir: certDir, CATTL: 30 * 24 * time.Hour, CertTTL: 24 * time.Hour, RenewWithin: 2 * time.Hour})
	if err != nil {
		return "", "", fmt.Errorf("dev PKI: %w", err)
	}
	if res.CreatedCA || len(res.Issued) > 0 {
		fmt.Fprintf(cfg.Out, "dev PKI in %s (new CA: %v, issued: %s)\n", certDir, res.CreatedCA, strings.Join(res.Issued, ", "))
	}
	binDir = cfg.BinDir
	if binDir == "" {
		binDir = filepath.Join(dataDir, "bin")
		if err := build(ctx, cfg.RepoRoot, binDir, cfg.Out); err != nil {
			return "", "", err
		}
	}
	return certDir, binDir, nil
}

// publish bootstraps the first tenant and key (adminkey.go), starts the
// --ha control API and writes dev.env and this kind of stack's copy; it
// returns the infrastructure's exit channel (nil without --ha) and what
// stops the control API.
func publish(ctx context.Context, cfg Config, s *supervisor, svcs []*service, servers *infra, cli *mtls.Source, certDir string) (<-chan error, func(), error) {
	admin, err := bootstrap(ctx, svcs[0], cli, "http://"+cfg.HTTPAddr, cfg.DataDir, cfg.HA)
	if err != nil {
		return nil, nil, err
	}
	if admin.note != "" {
		fmt.Fprintln(cfg.Out, admin.note)
	}
	var extra []string
	var infraExited <-chan error
	closeCtl := func() {}
	if cfg.HA {
		ctl, err := startControl(ctx, s, svcs)
		if err != nil {
			return nil, nil, err
		}
		closeCtl = ctl.close
		extra = append(haDevEnv(servers), "RAMPART_DEV_CONTROL_URL="+ctl.url, "RAMPART_DEV_CONTROL_TOKEN="+ctl.token)
		infraExited = servers.exited
	}
	// This kind of stack's own record first: dev.env, the copy tools read,
	// is overwritten by whichever kind starts next.
	envFile := filepath.Join(cfg.DataDir, "dev.env")
	for _, path := range []string{stackEnvFile(cfg.DataDir, cfg.HA), envFile} {
		if err := writeDevEnv(path, svcs, cfg.HTTPAddr, certDir, admin.key, admin.tenant, extra); err != nil {
			closeCtl()
			return nil, nil, err
		}
	}
	binDir := cfg.BinDir
	if binDir == "" {
		binDir = filepath.Join(cfg.DataDir, "bin")
	}
	printTryIt(cfg.Out, envFile, cfg.HTTPAddr, binDir)
	return infraExited, closeCtl, nil
}

// bindAddrs binds every service's listener and admin socket up front, on
// the well-known dev ports when free. The edge's public listener is
// httpAddr exactly: the operator chose it, so a busy port is an error.
// Further edges (--ha) take the next port when it is free, else any.
func bindAddrs(svcs []*service, httpAddr string) error {
	firstEdge := true
	for _, sv := range svcs {
		var err error
		switch {
		case sv.grpcPort != 0:
			sv.listenSock, err = bindPreferred(sv.preferred(sv.grpcPort))
		case firstEdge:
			firstEdge = false
			if host, port, _ := net.SplitHostPort(httpAddr); port == "0" && host == "127.0.0.1" {
				sv.listenSock, err = bindAnyPort() // any port: one outside the ephemeral range (bindAnyPort)
			} else if sv.listenSock, err = bindTCP(httpAddr); err != nil {
				err = httpAddrError(httpAddr, err)
			}
		default:
			sv.listenSock, err = bindPreferred(nextPort(httpAddr, sv.replica-1))
		}
		if err != nil {
			return err
		}
		sv.listenAddr = sv.listenSock.Addr().String()
		if sv.adminSock, err = bindPreferred(sv.preferred(sv.adminPort)); err != nil {
			return err
		}
		sv.adminAddr = sv.adminSock.Addr().String()
	}
	return nil
}

// preferred is the loopback address on port, or on any port with anyPort.
func (sv *service) preferred(port int) string {
	if sv.anyPort {
		port = 0
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// nextPort is addr's port plus n on the same host ("host:0" stays 0).
func nextPort(addr string, n int) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "127.0.0.1:0"
	}
	p, err := strconv.Atoi(port)
	if err != nil || p == 0 || p+n > 65535 {
		return net.JoinHostPort(host, "0")
	}
	return net.JoinHostPort(host, strconv.Itoa(p+n))
}

// rebind binds sv's addresses again for a restart: the same ports, so
// every client's address list stays right. The port was the killed
// child's; another process could take it in between, which fails the
// restart instead of moving the replica.
func rebind(sv *service) error {
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		if sv.listenSock == nil {
			sv.listenSock, err = bindTCP(sv.listenAddr)
		}
		if err == nil && sv.adminSock == nil {
			sv.adminSock, err = bindTCP(sv.adminAddr)
		}
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		closeSockets([]*service{sv})
		return fmt.Errorf("%s: bind its address again: %w", sv.name, err)
	}
	return nil
}

// childSockets duplicates sv's sockets in the order of childListenFD and
// childAdminFD.
func childSockets(sv *service) ([]*os.File, error) {
	if sv.listenSock == nil || sv.adminSock == nil {
		return nil, fmt.Errorf("%s: sockets not bound (started twice?)", sv.name)
	}
	listenF, err := socketFile(sv.listenSock)
	if err != nil {
		return nil, err
	}
	adminF, err := socketFile(sv.adminSock)
	if err != nil {
		_ = listenF.Close()
		return nil, err
	}
	return []*os.File{listenF, adminF}, nil
}

// closeSockets closes the supervisor's copies; a started child keeps its own.
func closeSockets(svcs []*service) {
	for _, sv := range svcs {
		for _, l := range []*net.TCPListener{sv.listenSock, sv.adminSock} {
			if l != nil {
				_ = l.Close()
			}
		}
		sv.listenSock, sv.adminSock = nil, nil
	}
}

// The descriptors a child finds its sockets on (ExtraFiles start at 3).
const (
	childListenFD = 3
	childAdminFD  = 4
)

// stackEnv is the environment every child gets: its own listeners (the
// inherited sockets) plus where to find the others.
func stackEnv(svcs []*service, dataDir, certDir string) []string {
	env := []string{
		"RAMPART_DATA_DIR=" + dataDir,
		"RAMPART_CERT_DIR=" + certDir,
		"RAMPART_PROFILE=dev",
		// The edge's public listener is its inherited fd 3 like every
		// service's; clients use the real address from dev.env.
		"RAMPART_HTTP_ADDR=" + listen.FD(childListenFD),
	}
	seen := map[string]bool{}
	for _, sv := range svcs {
		// Each process has a data dir of its own: replicas share only what
		// is in PostgreSQL, Redis and the shared key files (haEnv).
		sv.env = []string{"RAMPART_" + sv.envName + "_DATA_DIR=" + filepath.Join(dataDir, sv.name)}
		if seen[sv.svc] {
			continue
		}
		seen[sv.svc] = true
		p := "RAMPART_" + sv.envName + "_"
		env = append(env,
			p+"LISTEN_ADDR="+listen.FD(childListenFD),
			p+"ADMIN_ADDR="+listen.FD(childAdminFD),
		)
		if sv.svc != "edge" {
			env = append(env, p+"ADDR="+joinAddrs(svcs, sv.svc, false))
		}
	}
	// The Slack install's redirect goes to the edge this stack really
	// listens on (RAMPART_URL), not the adapter's default :8080, which is
	// another stack's when this one's edge fell back to a free port. A
	// public URL set by the operator (docs/slack-setup.md) wins.
	if os.Getenv("RAMPART_SLACKADAPTER_PUBLIC_URL") == "" {
		if edge, _, _ := strings.Cut(joinAddrs(svcs, "edge", false), ","); edge != "" {
			env = append(env, "RAMPART_SLACKADAPTER_PUBLIC_URL=http://"+edge)
		}
	}
	return env
}

func build(ctx context.Context, root, binDir string, out io.Writer) error {
	if root == "" {
		return errors.New("cannot build the services: repository root unknown (run from the checkout or pass --bin-dir)")
	}
	// go build prints nothing while it compiles; on a fresh checkout that is
	// minutes of silence a newcomer reads as a hang.
	fmt.Fprintln(out, "building services and the rampart CLI (the first build compiles every dependency: several minutes on a small machine)…")
	args := []string{"build", "-o", binDir + string(os.PathSeparator)}
	for _, sv := range baseServices {
		args = append(args, "./services/"+sv.svc+"/cmd/"+sv.svc)
	}
	// The CLI beside them, so the "Try it" lines and the README's CLI
	// examples work without a separate install step.
	args = append(args, "./cmd/rampart")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	// Static, as deploy/Dockerfile builds them: no libc mapped into every
	// service (~2 MB of RSS each; ADR 0056) and the pure-Go resolver.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	return nil
}

type exitInfo struct {
	svc *service
	err error
}

type supervisor struct {
	out io.Writer
	// What every start needs: binaries, data dir, shared environment, the
	// CLI identity for health checks.
	binDir, dataDir string
	env             []string
	cli             *mtls.Source
	startTimeout    time.Duration
	// Log rotation of every child's output (Config.LogMaxMB, LogBackups).
	logMaxMB, logBackups int
	mu                   sync.Mutex
	started              []*service
	stopping             bool
	exited               chan exitInfo
	wg                   sync.WaitGroup
}

// start starts sv's process on its bound sockets (bindAddrs or rebind).
func (s *supervisor) start(sv *service) error {
	s.mu.Lock()
	stopping := s.stopping
	s.mu.Unlock()
	if stopping {
		closeSockets([]*service{sv})
		return errors.New("the stack is stopping")
	}
	sv.logPath = filepath.Join(s.dataDir, "logs", sv.name+".log")
	// Children write into a pipe we drain into a size-rotated file: a long
	// load test must not fill the disk (about 560 bytes of log per chat
	// request at the default level).
	logFile := &lumberjack.Logger{Filename: sv.logPath, MaxSize: s.logMaxMB, MaxBackups: s.logBackups}
	// The binary path is ours: binDir from the operator, name from the fixed service list.
	cmd := exec.Command(filepath.Join(s.binDir, sv.svc)) //nolint:gosec // G204: not user-controlled input
	cmd.Env = append(append(os.Environ(), s.env...), sv.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	socks, err := childSockets(sv)
	if err != nil {
		_ = logFile.Close()
		return err
	}
	cmd.ExtraFiles = socks // fd 3 and 4: childListenFD, childAdminFD
	defer func() {
		for _, f := range socks {
			_ = f.Close()
		}
	}()
	// Own process group: a Ctrl-C in the terminal reaches us, and we stop the
	// children in order instead of them all dying at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start %s: %w", sv.name, err)
	}
	// The child holds the sockets now; ours would only keep ports open
	// after it exits.
	closeSockets([]*service{sv})
	done := make(chan struct{})
	s.mu.Lock()
	sv.cmd, sv.done, sv.killed = cmd, done, false
	if !slices.Contains(s.started, sv) {
		s.started = append(s.started, sv)
	}
	s.mu.Unlock()
	fmt.Fprintf(s.out, "  %-14s pid %-7d listen %-21s admin %s\n", sv.name, cmd.Process.Pid, sv.listenAddr, sv.adminAddr)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := cmd.Wait()
		_ = logFile.Close()
		s.mu.Lock()
		report := !s.stopping && !sv.killed
		close(done)
		s.mu.Unlock()
		if report {
			select {
			case s.exited <- exitInfo{svc: sv, err: err}:
			default: // the stack is already going down for an earlier one
			}
		}
	}()
	return nil
}

// kill sends SIGKILL to the named process (the control API, for chaos
// tests) and waits until it is gone. Its exit is not a crash: the stack
// stays up and restart brings it back.
func (s *supervisor) kill(sv *service) (int, error) {
	s.mu.Lock()
	if s.stopping || sv.cmd == nil || isClosed(sv.done) {
		s.mu.Unlock()
		return 0, fmt.Errorf("%s: %w", sv.name, errNotRunning)
	}
	sv.killed = true
	p, done := sv.cmd.Process, sv.done
	s.mu.Unlock()
	if err := p.Kill(); err != nil {
		return 0, err
	}
	select {
	case <-done:
		return p.Pid, nil
	case <-time.After(10 * time.Second):
		return p.Pid, fmt.Errorf("%s (pid %d) still running 10s after SIGKILL", sv.name, p.Pid)
	}
}

// restart starts a process that kill stopped on its old addresses and
// waits until it is healthy.
func (s *supervisor) restart(ctx context.Context, sv *service) (int, error) {
	s.mu.Lock()
	running := sv.cmd != nil && !isClosed(sv.done)
	s.mu.Unlock()
	if running {
		return 0, fmt.Errorf("%s: %w", sv.name, errRunning)
	}
	if err := rebind(sv); err != nil {
		return 0, err
	}
	if err := s.start(sv); err != nil {
		return 0, err
	}
	s.mu.Lock()
	pid := sv.cmd.Process.Pid
	s.mu.Unlock()
	return pid, s.waitHealthy(ctx, sv, nil)
}

// running reports sv's pid while its process runs.
func (s *supervisor) running(sv *service) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv.cmd == nil || isClosed(sv.done) {
		return 0, false
	}
	return sv.cmd.Process.Pid, true
}

// Refusals of kill and restart (the control API answers 409).
var (
	errRunning    = errors.New("running already")
	errNotRunning = errors.New("not running")
)

func (s *supervisor) logf(format string, args ...any) { fmt.Fprintf(s.out, format, args...) }

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// stopAll sends SIGTERM in reverse start order, waits, then SIGKILLs stragglers.
func (s *supervisor) stopAll() error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	started := append([]*service(nil), s.started...)
	s.mu.Unlock()
	for i := len(started) - 1; i >= 0; i-- {
		if p := started[i].cmd.Process; p != nil && !isClosed(started[i].done) {
			_ = p.Signal(syscall.SIGTERM)
		}
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(15 * time.Second):
		for _, sv := range started {
			_ = sv.cmd.Process.Kill()
		}
		<-done
		return errors.New("some services did not stop within 15s and were killed")
	}
}

func (s *supervisor) report(e exitInfo) {
	fmt.Fprintf(s.out, "\n%s exited unexpectedly: %v\nlast lines of %s:\n", e.svc.name, e.err, e.svc.logPath)
	f, err := os.Open(e.svc.logPath)
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 20 {
			lines = lines[1:]
		}
	}
	for _, l := range lines {
		fmt.Fprintln(s.out, "  "+l)
	}
}

// waitHealthy polls the service until it reports SERVING (gRPC health over
// mTLS; the edge over its HTTP /readyz), a child exits (any child on
// exited, which is nil for a restart; sv's own process always), or the
// timeout.
func (s *supervisor) waitHealthy(ctx context.Context, sv *service, exited chan exitInfo) error {
	timeout := s.startTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	s.mu.Lock()
	done := sv.done
	s.mu.Unlock()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-exited:
			s.report(e)
			return fmt.Errorf("%s exited during start-up (%w); see %s", e.svc.name, e.err, e.svc.logPath)
		case <-done:
			return fmt.Errorf("%s exited during start-up; see %s", sv.name, sv.logPath)
		default:
		}
		if sv.svc == "edge" {
			last = httpReady("http://" + sv.listenAddr + "/readyz")
		} else {
			last = grpcServing(ctx, sv, s.cli)
		}
		if last == nil {
			return nil
		}
		time.Sleep(150 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy after %s: %w (see %s)", sv.name, timeout, last, sv.logPath)
}

func grpcServing(ctx context.Context, sv *service, cli *mtls.Source) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := mtls.Dial(ctx, sv.listenAddr, cli, pki.ServiceID(sv.svc))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health status %s", resp.GetStatus())
	}
	return nil
}

func httpReady(url string) error {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz: %s", resp.Status)
	}
	return nil
}
