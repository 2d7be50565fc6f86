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
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/rampart-platform/rampart/cmd/rampart/internal/pkiops"
	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
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
	// Out receives progress and the "try it" text.
	Out io.Writer
}

type service struct {
	name       string
	envName    string // AUTH, KEYVAULT, ...
	grpcPort   int
	adminPort  int
	listenAddr string // the real address, for clients and dev.env
	adminAddr  string
	// The sockets the supervisor bound; handed to the child as fd 3 and 4,
	// then closed here.
	listenSock, adminSock *net.TCPListener
	cmd                   *exec.Cmd
	logPath               string
}

// The start order matters: every backend fetches auth's signing keys at start,
// and the edge needs all of them.
func newServices() []*service {
	return []*service{
		{name: "auth", envName: "AUTH", grpcPort: 7001, adminPort: 9001},
		{name: "keyvault", envName: "KEYVAULT", grpcPort: 7002, adminPort: 9002},
		{name: "inference", envName: "INFERENCE", grpcPort: 7003, adminPort: 9003},
		{name: "ingestion", envName: "INGESTION", grpcPort: 7004, adminPort: 9004},
		{name: "slackadapter", envName: "SLACKADAPTER", grpcPort: 7005, adminPort: 9005},
		{name: "edge", envName: "EDGE", adminPort: 9006},
	}
}

// Run starts the stack and blocks until ctx is cancelled (clean stop, nil
// error) or a child dies (error naming it).
func Run(ctx context.Context, cfg Config) error {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.LogMaxMB <= 0 {
		cfg.LogMaxMB = 100
	}
	if cfg.LogBackups <= 0 {
		cfg.LogBackups = 3
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	cfg.DataDir = dataDir
	for _, d := range []string{"", "logs"} {
		if err := os.MkdirAll(filepath.Join(dataDir, d), 0o700); err != nil {
			return fmt.Errorf("create data dir: %w", err)
		}
	}
	certDir := filepath.Join(dataDir, "pki")
	res, err := pkiops.Init(pkiops.Options{Dir: certDir, CATTL: 30 * 24 * time.Hour, CertTTL: 24 * time.Hour, RenewWithin: 2 * time.Hour})
	if err != nil {
		return fmt.Errorf("dev PKI: %w", err)
	}
	if res.CreatedCA || len(res.Issued) > 0 {
		fmt.Fprintf(cfg.Out, "dev PKI in %s (new CA: %v, issued: %s)\n", certDir, res.CreatedCA, strings.Join(res.Issued, ", "))
	}

	binDir := cfg.BinDir
	if binDir == "" {
		binDir = filepath.Join(dataDir, "bin")
		if err := build(ctx, cfg.RepoRoot, binDir, cfg.Out); err != nil {
			return err
		}
	}

	svcs := newServices()
	defer closeSockets(svcs)
	if err := bindAddrs(svcs, cfg.HTTPAddr); err != nil {
		return err
	}
	cfg.HTTPAddr = svcs[len(svcs)-1].listenAddr // the real port, also for ":0"
	env := stackEnv(svcs, dataDir, certDir)
	tools, err := writeToolPolicy(dataDir)
	if err != nil {
		return err
	}
	env = append(env, tools...)

	cli, err := mtls.NewSource(mtls.FilesFor(certDir, pkiops.CLIName))
	if err != nil {
		return fmt.Errorf("load CLI certificate: %w", err)
	}

	s := &supervisor{out: cfg.Out, exited: make(chan exitInfo, len(svcs)), logMaxMB: cfg.LogMaxMB, logBackups: cfg.LogBackups}
	defer func() { _ = s.stopAll() }()

	start := func(sv *service) error {
		if err := s.start(sv, binDir, dataDir, env); err != nil {
			return err
		}
		return s.waitHealthy(ctx, sv, cli, cfg.HTTPAddr, cfg.StartTimeout)
	}
	// auth first, then the backends, then the edge.
	if err := start(svcs[0]); err != nil {
		return err
	}
	for _, sv := range svcs[1:] {
		if err := start(sv); err != nil {
			return err
		}
	}

	key, tenant, err := bootstrap(ctx, svcs[0], cli, dataDir)
	if err != nil {
		return err
	}
	envFile := filepath.Join(dataDir, "dev.env")
	if err := writeDevEnv(envFile, svcs, cfg.HTTPAddr, certDir, key, tenant); err != nil {
		return err
	}
	printTryIt(cfg.Out, envFile, cfg.HTTPAddr)

	select {
	case <-ctx.Done():
		fmt.Fprintln(cfg.Out, "\nstopping the stack…")
		return s.stopAll()
	case e := <-s.exited:
		s.report(e)
		_ = s.stopAll()
		return fmt.Errorf("%s exited unexpectedly (%w); see %s", e.svc.name, e.err, e.svc.logPath)
	}
}

// bindAddrs binds every service's listener and admin socket up front, on
// the well-known dev ports when free. The edge's public listener is
// httpAddr exactly: the operator chose it, so a busy port is an error.
func bindAddrs(svcs []*service, httpAddr string) error {
	for _, sv := range svcs {
		var err error
		if sv.grpcPort != 0 {
			sv.listenSock, err = bindPreferred(fmt.Sprintf("127.0.0.1:%d", sv.grpcPort))
		} else {
			if sv.listenSock, err = bindTCP(httpAddr); err != nil {
				err = fmt.Errorf("edge HTTP address: %w", err)
			}
		}
		if err != nil {
			return err
		}
		sv.listenAddr = sv.listenSock.Addr().String()
		if sv.adminSock, err = bindPreferred(fmt.Sprintf("127.0.0.1:%d", sv.adminPort)); err != nil {
			return err
		}
		sv.adminAddr = sv.adminSock.Addr().String()
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
	for _, sv := range svcs {
		p := "RAMPART_" + sv.envName + "_"
		env = append(env,
			p+"LISTEN_ADDR="+listen.FD(childListenFD),
			p+"ADMIN_ADDR="+listen.FD(childAdminFD),
			p+"DATA_DIR="+filepath.Join(dataDir, sv.name),
		)
		if sv.name != "edge" {
			env = append(env, p+"ADDR="+sv.listenAddr)
		}
	}
	return env
}

func build(ctx context.Context, root, binDir string, out io.Writer) error {
	if root == "" {
		return errors.New("cannot build the services: repository root unknown (run from the checkout or pass --bin-dir)")
	}
	fmt.Fprintln(out, "building services…")
	args := []string{"build", "-o", binDir + string(os.PathSeparator)}
	for _, sv := range newServices() {
		args = append(args, "./services/"+sv.name+"/cmd/"+sv.name)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
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
	// Log rotation of every child's output (Config.LogMaxMB, LogBackups).
	logMaxMB, logBackups int
	mu                   sync.Mutex
	started              []*service
	stopping             bool
	exited               chan exitInfo
	wg                   sync.WaitGroup
}

func (s *supervisor) start(sv *service, binDir, dataDir string, env []string) error {
	sv.logPath = filepath.Join(dataDir, "logs", sv.name+".log")
	// Children write into a pipe we drain into a size-rotated file: a long
	// load test must not fill the disk (about 560 bytes of log per chat
	// request at the default level).
	logFile := &lumberjack.Logger{Filename: sv.logPath, MaxSize: s.logMaxMB, MaxBackups: s.logBackups}
	// The binary path is ours: binDir from the operator, name from the fixed service list.
	cmd := exec.Command(filepath.Join(binDir, sv.name)) //nolint:gosec // G204: not user-controlled input
	cmd.Env = append(os.Environ(), env...)
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
	sv.cmd = cmd
	// The child holds the sockets now; ours would only keep ports open
	// after it exits.
	closeSockets([]*service{sv})
	s.mu.Lock()
	s.started = append(s.started, sv)
	s.mu.Unlock()
	fmt.Fprintf(s.out, "  %-13s pid %-7d listen %-21s admin %s\n", sv.name, cmd.Process.Pid, sv.listenAddr, sv.adminAddr)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := cmd.Wait()
		_ = logFile.Close()
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if !stopping {
			s.exited <- exitInfo{svc: sv, err: err}
		}
	}()
	return nil
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
		if p := started[i].cmd.Process; p != nil {
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
// mTLS; the edge over its HTTP /readyz), the child exits, or the timeout.
func (s *supervisor) waitHealthy(ctx context.Context, sv *service, cli *mtls.Source, httpAddr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-s.exited:
			s.report(e)
			return fmt.Errorf("%s exited during start-up (%w); see %s", e.svc.name, e.err, e.svc.logPath)
		default:
		}
		if sv.name == "edge" {
			last = httpReady("http://" + httpAddr + "/readyz")
		} else {
			last = grpcServing(ctx, sv, cli)
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
	conn, err := mtls.Dial(ctx, sv.listenAddr, cli, pki.ServiceID(sv.name))
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

// bootstrap creates the first tenant and owner key, or — on a data dir that
// already has them — reuses the key recorded in dev.env.
func bootstrap(ctx context.Context, auth *service, cli *mtls.Source, dataDir string) (key, tenant string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := mtls.Dial(ctx, auth.listenAddr, cli, pki.ServiceID("auth"))
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	resp, err := authv1.NewAuthServiceClient(conn).Bootstrap(ctx, &authv1.BootstrapRequest{
		TenantName:   "platform",
		OwnerSubject: "admin@rampart.local",
	})
	if err == nil {
		return resp.GetApiKey(), resp.GetTenantId(), nil
	}
	if status.Code(err) != codes.AlreadyExists {
		return "", "", fmt.Errorf("bootstrap tenant: %w", err)
	}
	prev, rerr := readDevEnv(filepath.Join(dataDir, "dev.env"))
	if rerr != nil || prev["RAMPART_ADMIN_KEY"] == "" {
		return "", "", errors.New("auth already has tenants but dev.env has no admin key; remove the data dir to start fresh")
	}
	return prev["RAMPART_ADMIN_KEY"], prev["RAMPART_TENANT_ID"], nil
}
