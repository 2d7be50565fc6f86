package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cenkalti/backoff/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

// ModelFusionWeight is the fusion weight of a learned embedding model's
// vector ranking (BM25's is 1).
const ModelFusionWeight = 1.0

// ErrUnavailable wraps failures of the embedding upstream that may pass
// (inference or the provider down, timing out, or over the tenant's rate):
// a job retries later, a search falls back to lexical.
var ErrUnavailable = errors.New("embedding model unavailable")

// ErrRejected wraps refusals that will not pass by retrying (unknown
// model, not an embedding model, bad input).
var ErrRejected = errors.New("embedding model rejected the request")

// Remote embeds through inference's EmbedForTenant RPC (mTLS, ingestion's
// identity; docs/adr/0023-embeddings-for-background-jobs.md): batched,
// retried with exponential backoff on transient failures.
type Remote struct {
	Client inferencev1.InferenceServiceClient
	// Batch is the number of texts per call (default 64, at most 256).
	Batch int
	// Attempts per batch (default 3) and the first backoff (default
	// 200ms, doubled each retry).
	Attempts int
	Backoff  time.Duration
	// Timeout bounds one call (default 60s).
	Timeout time.Duration
}

// Limits are what an EmbedForTenant call carries for inference to hold it
// to, besides what inference saw itself.
type Limits struct {
	// Tenant are the tenant's limits as last seen here (nil: none seen;
	// ADR 0095).
	Tenant *inferencev1.TenantJobLimits
	// Key are the calling key's own limits, from its verified principal,
	// for texts embedded while it waits (a search's query); nil for a
	// background job, which is charged to the tenant only (ADR 0106).
	Key *inferencev1.KeyLimits
}

// LimitError is inference's ResourceExhausted: one of Rampart's token
// limits (the tenant's, or the key's of a search) is spent. Since ADR
// 0106 EmbedForTenant answers that code for nothing else (the upstream's
// own rate limit is Unavailable), so Status is inference's own refusal
// (the limit's OpenAI code, type, message and retry delay, no input or
// upstream text), which a search answers as it is. It matches
// ErrUnavailable: a job waits and runs again later.
type LimitError struct {
	Model  string
	Status *status.Status
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%v: `%s` (%s)", ErrUnavailable, e.Model, codes.ResourceExhausted)
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *LimitError) Is(target error) bool { return target == ErrUnavailable }

// EmbedForTenant returns one vector per text, embedded with model for
// tenant (usage is charged to the tenant, attributed to key when set, and
// held to limits).
func (r *Remote) EmbedForTenant(ctx context.Context, tenant, key, model string, limits Limits, texts []string) ([][]float32, error) {
	batch := r.Batch
	if batch <= 0 || batch > 256 {
		batch = 64
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += batch {
		end := min(start+batch, len(texts))
		vecs, err := r.call(ctx, &inferencev1.EmbedForTenantRequest{TenantId: tenant, KeyId: key, Model: model,
			Inputs: texts[start:end], TenantLimits: limits.Tenant, KeyLimits: limits.Key})
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

// call makes one EmbedForTenant call, retried on transient failures
// (cenkalti/backoff, ADR 0048): Attempts tries in all, Backoff before the
// second and doubling after, no jitter (one worker per job, so retries of
// different jobs are not synchronised). A refusal, the tenant being over
// its rate (ResourceExhausted: the job retries later instead) and the end
// of ctx are not retried.
func (r *Remote) call(ctx context.Context, req *inferencev1.EmbedForTenantRequest) ([][]float32, error) {
	attempts, first, timeout := r.Attempts, r.Backoff, r.Timeout
	if attempts <= 0 {
		attempts = 3
	}
	if first <= 0 {
		first = 200 * time.Millisecond
	}
	if timeout <= 0 {
		timeout = time.Minute
	}
	resp, err := backoff.Retry(ctx, func() (*inferencev1.EmbedForTenantResponse, error) {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		resp, err := r.Client.EmbedForTenant(cctx, req)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, backoff.Permanent(ctx.Err())
		}
		classified := classify(req.GetModel(), err)
		if !errors.Is(classified, ErrUnavailable) || status.Code(err) == codes.ResourceExhausted {
			return nil, backoff.Permanent(classified)
		}
		return nil, classified
	},
		// No cap: Attempts bounds the doubling.
		backoff.WithBackOff(&backoff.ExponentialBackOff{InitialInterval: first, Multiplier: 2, MaxInterval: math.MaxInt64}),
		backoff.WithMaxTries(uint(attempts)), //nolint:gosec // positive
		backoff.WithMaxElapsedTime(0))
	if err != nil {
		return nil, err
	}
	if len(resp.GetVectors()) != len(req.GetInputs()) {
		return nil, fmt.Errorf("%w: %d vectors for %d texts", ErrRejected, len(resp.GetVectors()), len(req.GetInputs()))
	}
	out := make([][]float32, len(resp.GetVectors()))
	for j, v := range resp.GetVectors() {
		out[j] = v.GetValues()
	}
	return out, nil
}

// classify turns an RPC error into ErrUnavailable or ErrRejected naming
// the model and the gRPC code only, or a *LimitError. Inference's message
// is dropped (a LimitError keeps it for a search only): for an
// upstream's refusal it is the upstream's own text, which may quote the
// input (a chunk of the tenant's document, a search query), and this error
// becomes a job's error, kept in clear and shown to the tenant, and a log
// line (ADR 0065 §2). Inference logs the refusal itself.
func classify(model string, err error) error {
	code := status.Code(err)
	switch code {
	case codes.ResourceExhausted:
		return &LimitError{Model: model, Status: status.Convert(err)}
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted, codes.Internal, codes.Unknown, codes.Canceled:
		return fmt.Errorf("%w: `%s` (%s)", ErrUnavailable, model, code)
	default:
		return fmt.Errorf("%w: `%s` (%s)", ErrRejected, model, code)
	}
}
