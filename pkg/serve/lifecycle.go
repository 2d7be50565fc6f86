package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Lifecycle runs what one Rampart process serves (its listeners) and its
// background tasks, and stops them in the one order every service uses,
// the gRPC backends (through Server) and the HTTP edge alike:
//
//  1. not ready: the OnDrain hooks run (readiness false, health
//     NOT_SERVING, long streams told to finish);
//  2. drain: the drain delay passes, so load balancers route elsewhere;
//  3. servers stopped gracefully, in registration order, with one shared
//     deadline (each server's stop falls back to a hard stop at it);
//  4. tasks cancelled and awaited (until the shutdown deadline);
//  5. closers, in reverse order of registration (stores last).
//
// A task that fails (returns an error before it was cancelled) or a server
// that fails stops the process through the same sequence; Run returns the
// failure.
type Lifecycle struct {
	log             *slog.Logger
	drainDelay      time.Duration
	shutdownTimeout time.Duration

	mu      sync.Mutex
	started bool
	servers []lifecycleServer
	tasks   []lifecycleTask
	drain   []func()
	closers []func(context.Context) error
}

type lifecycleServer struct {
	name  string
	serve func() error
	stop  func(context.Context) error
}

type lifecycleTask struct {
	name string
	run  func(context.Context) error
}

// NewLifecycle returns an empty lifecycle. drainDelay ≤ 0 skips the drain
// delay; shutdownTimeout bounds the graceful stop of the servers and,
// again, the tasks and closers (≤ 0: DefaultShutdownTimeout).
func NewLifecycle(log *slog.Logger, drainDelay, shutdownTimeout time.Duration) *Lifecycle {
	if shutdownTimeout <= 0 {
		shutdownTimeout = DefaultShutdownTimeout
	}
	return &Lifecycle{log: log, drainDelay: drainDelay, shutdownTimeout: shutdownTimeout}
}

// Serve registers a server: serve blocks until stop is called (returning
// nil then) or fails; stop stops it gracefully and, when ctx ends first,
// hard.
func (l *Lifecycle) Serve(name string, serve func() error, stop func(ctx context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.servers = append(l.servers, lifecycleServer{name: name, serve: serve, stop: stop})
}

// ServeHTTP registers srv serving on lis: Shutdown drains it, Close cuts
// off what is still in flight at the deadline (logged as a warning).
func (l *Lifecycle) ServeHTTP(name string, srv *http.Server, lis net.Listener) {
	l.Serve(name, func() error {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, func(ctx context.Context) error {
		if err := srv.Shutdown(ctx); err != nil {
			// Like gRPC's GracefulStop at its deadline: what is left is cut
			// off, which is the deadline's purpose, not a failure.
			l.log.WarnContext(ctx, "in-flight requests cut off at the shutdown deadline", "server", name, "error", err.Error())
			_ = srv.Close()
		}
		return nil
	})
}

// Go registers a background task (a scheduler, a watch, a refresher). It
// starts when Run starts, on a context that carries Run's values and ends
// at step 4 of the shutdown; it must return soon after. An error returned
// before then stops the service; returning nil early just ends the task.
func (l *Lifecycle) Go(name string, task func(ctx context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tasks = append(l.tasks, lifecycleTask{name: name, run: task})
}

// OnDrain registers f to run first at shutdown (mark the process not
// ready), in registration order.
func (l *Lifecycle) OnDrain(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drain = append(l.drain, f)
}

// OnShutdown registers f to run after the servers and tasks stopped, in
// reverse registration order (close stores here).
func (l *Lifecycle) OnShutdown(f func(context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closers = append(l.closers, f)
}

// Close runs the closers registered so far, in reverse order, for a
// service whose setup failed before Run: what it had opened is closed.
func (l *Lifecycle) Close(ctx context.Context) error {
	l.mu.Lock()
	closers := l.closers
	l.closers = nil
	l.mu.Unlock()
	return runClosers(ctx, closers)
}

func runClosers(ctx context.Context, closers []func(context.Context) error) error {
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown closer: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Run starts the servers and tasks and blocks until ctx ends or one of
// them fails, then shuts down in order. It returns nil after a clean
// shutdown started by ctx.
func (l *Lifecycle) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return errors.New("serve: Run called twice")
	}
	l.started = true
	servers, tasks := l.servers, l.tasks
	l.mu.Unlock()

	runCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	// Tasks outlive ctx: the shutdown cancels them after the servers.
	taskCtx, cancelTasks := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelTasks()

	var served sync.WaitGroup
	errs := make(chan error, len(servers)+len(tasks))
	for _, s := range servers {
		served.Go(func() {
			if err := s.serve(); err != nil {
				errs <- fmt.Errorf("%s: %w", s.name, err)
				fail(err)
			}
		})
	}
	var running sync.WaitGroup
	for _, t := range tasks {
		running.Go(func() {
			if err := t.run(taskCtx); err != nil && taskCtx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", t.name, err)
				fail(err)
			}
		})
	}

	<-runCtx.Done()
	// The shutdown runs to completion even though ctx is done.
	err := l.shutdown(context.WithoutCancel(ctx), servers, cancelTasks, &running)
	served.Wait()
	close(errs)
	var failures []error
	for e := range errs {
		failures = append(failures, e)
	}
	return errors.Join(append(failures, err)...)
}

// shutdown is steps 1-5 of the package order (see Lifecycle).
func (l *Lifecycle) shutdown(ctx context.Context, servers []lifecycleServer, cancelTasks context.CancelFunc, running *sync.WaitGroup) error {
	l.mu.Lock()
	drain, closers := l.drain, l.closers
	l.mu.Unlock()
	for _, f := range drain {
		f()
	}
	l.log.InfoContext(ctx, "draining", "drain_delay_us", l.drainDelay.Microseconds())
	if l.drainDelay > 0 {
		time.Sleep(l.drainDelay)
	}

	var errs []error
	stopCtx, cancel := context.WithTimeout(ctx, l.shutdownTimeout)
	defer cancel()
	for _, s := range servers {
		if err := s.stop(stopCtx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", s.name, err))
		}
	}

	closeCtx, cancelClose := context.WithTimeout(ctx, l.shutdownTimeout)
	defer cancelClose()
	cancelTasks()
	if err := await(closeCtx, running); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, runClosers(closeCtx, closers))
	err := errors.Join(errs...)
	if err != nil {
		l.log.ErrorContext(ctx, "stopped with errors", "error", err)
	} else {
		l.log.InfoContext(ctx, "stopped")
	}
	return err
}

// await waits for the tasks until ctx ends.
func await(ctx context.Context, running *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("background tasks still running at the shutdown deadline: %w", ctx.Err())
	}
}
