package server_test

import (
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/pkg/inferencetest"
	"github.com/rampart-platform/rampart/pkg/principal"
)

// fakeInference is pkg/inferencetest's double with an embedder scripted for
// these tests: its "semantic-embed" model, offered to acme and globex only,
// maps synonyms to one concept (car/automobile/vehicle), so a vector search
// can find what BM25 cannot. setDown makes it answer Unavailable, as
// inference does when the provider is unreachable.
type fakeInference struct {
	srv  *inferencetest.Server
	addr string

	mu   sync.Mutex
	down bool
	// downBatches: Unavailable only for calls of several texts (jobs),
	// not for single-text probes and queries.
	downBatches bool
	// quoteRefusal: calls of several texts (jobs) are refused with
	// InvalidArgument and a message quoting the first input, as an
	// OpenAI-compatible upstream that repeats what it refused would.
	quoteRefusal bool
	// refuseQueries: single-text calls (probes, queries) are refused
	// with this error, as inference refuses a spent limit.
	refuseQueries error
	calls         []fakeEmbedCall
	// held: calls of several texts (jobs) block until it is closed;
	// entered is told of each such call (holdBatches).
	held, entered chan struct{}
}

// holdBatches makes calls of several texts (jobs' embeddings) wait until
// the returned release is called; each such call is sent on the returned
// channel as it starts waiting.
func (f *fakeInference) holdBatches() (entered <-chan struct{}, release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held, f.entered = make(chan struct{}), make(chan struct{}, 16)
	held := f.held
	var once sync.Once
	return f.entered, func() {
		once.Do(func() {
			f.mu.Lock()
			f.held = nil
			f.mu.Unlock()
			close(held)
		})
	}
}

type fakeEmbedCall struct {
	Tenant, Key, Model string
	Inputs             int
	Limits             *inferencev1.TenantJobLimits
	KeyLimits          *inferencev1.KeyLimits
}

const fakeModel, fakeDims = "semantic-embed", 64

func startFakeInference(t *testing.T, certDir string, keys principal.Keys) *fakeInference {
	t.Helper()
	f := &fakeInference{}
	f.srv = inferencetest.Start(t, certDir, inferencetest.Options{Keys: keys, Models: []*inferencev1.Model{}, Embedder: f.embed})
	for _, tenant := range []string{"acme", "globex"} {
		f.srv.AddModel(tenant, &inferencev1.Model{Id: fakeModel, OwnedBy: "rampart"})
	}
	f.addr = f.srv.Addr
	return f
}

func (f *fakeInference) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *fakeInference) setQuoteRefusal(on bool) {
	f.mu.Lock()
	f.quoteRefusal = on
	f.mu.Unlock()
}

func (f *fakeInference) setRefuseQueries(err error) {
	f.mu.Lock()
	f.refuseQueries = err
	f.mu.Unlock()
}

func (f *fakeInference) setDownBatches(down bool) {
	f.mu.Lock()
	f.downBatches = down
	f.mu.Unlock()
}

// embedCalls are the EmbedForTenant calls answered with vectors.
func (f *fakeInference) embedCalls() []fakeEmbedCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeInference) embed(c *inferencetest.Call, inputs []string) ([][]float32, error) {
	f.mu.Lock()
	if held := f.held; held != nil && len(inputs) > 1 {
		select {
		case f.entered <- struct{}{}:
		default:
		}
		f.mu.Unlock()
		<-held
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	if f.down || (f.downBatches && len(inputs) > 1) {
		return nil, status.Error(codes.Unavailable, "The upstream provider is unavailable.")
	}
	if f.refuseQueries != nil && len(inputs) == 1 {
		return nil, f.refuseQueries
	}
	if f.quoteRefusal && len(inputs) > 1 {
		return nil, status.Errorf(codes.InvalidArgument, "upstream refused input %q: content policy", inputs[0])
	}
	r, _ := c.Request.(*inferencev1.EmbedForTenantRequest)
	f.calls = append(f.calls, fakeEmbedCall{Tenant: c.Tenant, Key: r.GetKeyId(), Model: c.Model, Inputs: len(inputs), Limits: r.GetTenantLimits(),
		KeyLimits: r.GetKeyLimits()})
	out := make([][]float32, len(inputs))
	for i, in := range inputs {
		out[i] = conceptVector(in)
	}
	return out, nil
}

var synonyms = map[string]string{"automobile": "car", "vehicle": "car", "cars": "car", "physician": "doctor", "medic": "doctor"}

// conceptVector hashes each word's concept (its synonym group) into
// fakeDims dimensions, L2-normalised.
func conceptVector(text string) []float32 {
	v := make([]float32, fakeDims)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
		if c, ok := synonyms[w]; ok {
			w = c
		}
		h := fnv.New32a()
		_, _ = h.Write([]byte(w))
		v[h.Sum32()%fakeDims]++
	}
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n > 0 {
		for i := range v {
			v[i] /= float32(math.Sqrt(n))
		}
	}
	return v
}
