package audit

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Results recorded in [Record.Result].
const (
	ResultOK       = "ok"
	ResultDenied   = "denied"
	ResultNotFound = "not_found"
	ResultInvalid  = "invalid"
	ResultError    = "error"
)

// Record is one audit entry. It never holds a secret value.
type Record struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id,omitempty"`
	Tenant    string    `json:"tenant"`
	Caller    string    `json:"caller"`            // mTLS SPIFFE ID
	Subject   string    `json:"subject,omitempty"` // principal subject
	KeyID     string    `json:"key_id,omitempty"`  // principal API key id
	Action    string    `json:"action"`
	Name      string    `json:"name,omitempty"`
	VersionID string    `json:"version_id,omitempty"`
	Stages    []string  `json:"stages,omitempty"`
	Result    string    `json:"result"`
	Detail    string    `json:"detail,omitempty"`
	ValueHMAC string    `json:"value_hmac,omitempty"` // hex HMAC-SHA256 of the value
}

// Sink stores audit records durably enough that Write returning nil means
// the record is kept.
type Sink interface {
	Write(ctx context.Context, r Record) error
}

// Hasher computes value fingerprints with the deployment's audit key.
type Hasher struct{ key []byte }

// NewHasher returns a Hasher over key.
func NewHasher(key []byte) *Hasher { return &Hasher{key: key} }

// HMAC returns the hex HMAC-SHA256 of value, prefixed "hmac-sha256:".
func (h *Hasher) HMAC(value []byte) string {
	m := hmac.New(sha256.New, h.key)
	m.Write(value)
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// KeyFile is the name of the audit HMAC key file in the data dir.
const KeyFile = "audit.key"

// LoadOrCreateKey reads the audit key from dir, generating it (0600) if
// missing.
func LoadOrCreateKey(dir string) ([]byte, error) {
	p := filepath.Join(dir, KeyFile)
	k, err := os.ReadFile(p)
	if err == nil {
		if len(k) < 32 {
			return nil, fmt.Errorf("audit: key file %s is too short", p)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("audit: read key: %w", err)
	}
	k = make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("audit: key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := os.WriteFile(p, k, 0o600); err != nil {
		return nil, fmt.Errorf("audit: write key: %w", err)
	}
	return k, nil
}

type pending struct {
	line []byte
	done chan flushResult // exactly one message per pending record
}

// flushResult is the outcome of a record's batch, or (lead) the hand-over
// of the flusher's role to the record's writer.
type flushResult struct {
	err  error
	lead bool
}

// FileSink appends JSON lines to a file, group-committed without a
// goroutine of its own: the writer that finds no flush in progress
// becomes the flusher and writes its record together with everything
// queued meanwhile, in one write call (and one fsync when Sync is set);
// writers arriving during a flush queue up, and the flusher hands its role
// to the first of them when done, which then writes the whole queue. Every
// caller returns only with its own batch's result, and each does at most
// one flush — an uncontended record is written by its own caller with no
// goroutine hand-off (ADR 0039).
type FileSink struct {
	f    *os.File
	w    *bufio.Writer
	sync bool

	mu       sync.Mutex
	queue    []pending // non-empty only while flushing
	spare    []pending // the last batch's array, reused for the next queue
	flushing bool
	idle     *sync.Cond // broadcast when flushing ends
	closed   bool
}

// OpenFile opens (appending, 0600) the audit log at path. With fsync each
// batch is fsynced before its callers return.
func OpenFile(path string, fsync bool) (*FileSink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open log: %w", err)
	}
	s := &FileSink{f: f, w: bufio.NewWriterSize(f, 64<<10), sync: fsync}
	s.idle = sync.NewCond(&s.mu)
	return s, nil
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("audit: sink closed")

// Write implements Sink.
func (s *FileSink) Write(_ context.Context, r Record) error {
	line, err := encode(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	p := pending{line: line}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.flushing {
		// Only a record that waits needs a channel: the uncontended
		// writer flushes its own record and is told nothing.
		p.done = make(chan flushResult, 1)
	}
	s.queue = append(s.queue, p)
	if s.flushing {
		s.mu.Unlock()
		// The record is queued: wait for its outcome even if ctx ends, so
		// the caller never reports success for an unwritten record.
		res := <-p.done
		if !res.lead {
			return res.err
		}
		s.mu.Lock() // handed the flusher's role; p is still queued
	}
	s.flushing = true
	batch := s.queue
	s.queue, s.spare = s.spare[:0], nil
	s.mu.Unlock()

	err = s.flush(batch)
	for _, q := range batch {
		if q.done != p.done {
			q.done <- flushResult{err: err}
		}
	}
	s.mu.Lock()
	clear(batch) // no lines or channels kept alive by the spare array
	s.spare = batch[:0]
	if len(s.queue) > 0 {
		s.queue[0].done <- flushResult{lead: true}
	} else {
		s.flushing = false
		s.idle.Broadcast()
	}
	s.mu.Unlock()
	return err
}

func (s *FileSink) flush(batch []pending) error {
	for _, p := range batch {
		if _, err := s.w.Write(p.line); err != nil {
			s.w.Reset(s.f)
			return fmt.Errorf("audit: write: %w", err)
		}
	}
	if err := s.w.Flush(); err != nil {
		s.w.Reset(s.f)
		return fmt.Errorf("audit: write: %w", err)
	}
	if s.sync {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("audit: fsync: %w", err)
		}
	}
	return nil
}

// Close waits for the records being written and queued, then closes the
// file; later writes get ErrClosed.
func (s *FileSink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for s.flushing {
		s.idle.Wait()
	}
	s.mu.Unlock()
	return s.f.Close()
}

// Func adapts a function to Sink (tests: a failing sink).
type Func func(ctx context.Context, r Record) error

// Write implements Sink.
func (f Func) Write(ctx context.Context, r Record) error { return f(ctx, r) }
