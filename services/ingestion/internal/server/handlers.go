package server

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	ingestionv1 "github.com/rampart-platform/rampart/gen/go/rampart/ingestion/v1"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
	"github.com/rampart-platform/rampart/pkg/principal"
	"github.com/rampart-platform/rampart/services/ingestion/internal/extract"
	"github.com/rampart-platform/rampart/services/ingestion/internal/ingest"
	"github.com/rampart-platform/rampart/services/ingestion/internal/store"
)

// Ingestion implements IngestionService.
type Ingestion struct {
	ingestionv1.UnimplementedIngestionServiceServer
	svc *ingest.Service
	log *slog.Logger
}

// NewIngestion returns the handlers.
func NewIngestion(svc *ingest.Service, log *slog.Logger) *Ingestion {
	return &Ingestion{svc: svc, log: log}
}

// tenant is the caller's tenant from the verified principal; it also lets
// jobs waiting for that tenant's key resume.
func (s *Ingestion) tenant(ctx context.Context) (string, error) {
	p, ok := principal.FromContext(ctx)
	if !ok || p.GetTenantId() == "" {
		return "", fmt.Errorf("no principal: %w", grpcerr.ErrUnauthenticated)
	}
	l := p.GetLimits()
	s.svc.NoteTenant(p.GetTenantId(), p.GetTenantAllowedModels(), &inferencev1.TenantJobLimits{
		TokensPerMinute: l.GetTenantTokensPerMinute(), MonthlyTokenBudget: l.GetTenantMonthlyTokenBudget()})
	s.svc.Unlock(ctx, p.GetTenantId())
	return p.GetTenantId(), nil
}

func (s *Ingestion) status(ctx context.Context, err error) error {
	return grpcerr.ToStatus(ctx, s.log, err)
}

// embeddingModelAllowed: the model a caller picks for a collection must be
// one its key may use (the principal's allowed_models: the key's list
// narrowed by the tenant's limits; empty is every model). Ingestion embeds
// with it through EmbedForTenant, which applies only the tenant's registry
// view (ADR 0023), so without this a key limited to a cheap model could
// bill the tenant for re-embedding everything with any model. The local
// hash embedder is no inference model and always allowed.
func embeddingModelAllowed(p *authv1.Principal, model string) error {
	if store.HashVersion(model) > 0 {
		return nil
	}
	allowed := p.GetAllowedModels()
	if len(allowed) == 0 || slices.Contains(allowed, model) {
		return nil
	}
	return fmt.Errorf("%w: embedding_model: %q is not among the models this API key may use", grpcerr.ErrPermissionDenied, model)
}

// CreateCollection implements the RPC.
func (s *Ingestion) CreateCollection(ctx context.Context, r *ingestionv1.CreateCollectionRequest) (*ingestionv1.CreateCollectionResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	p, _ := principal.FromContext(ctx)
	if err := embeddingModelAllowed(p, r.GetEmbeddingModel()); err != nil {
		return nil, s.status(ctx, err)
	}
	c, err := s.svc.CreateCollection(ctx, t, p.GetKeyId(), keyLimits(p), r.GetName(), r.GetDescription(), r.GetEmbeddingModel())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.CreateCollectionResponse{Collection: collectionPB(c)}, nil
}

// ListCollections implements the RPC.
func (s *Ingestion) ListCollections(ctx context.Context, _ *ingestionv1.ListCollectionsRequest) (*ingestionv1.ListCollectionsResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	cs, err := s.svc.ListCollections(ctx, t)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &ingestionv1.ListCollectionsResponse{Collections: make([]*ingestionv1.Collection, 0, len(cs))}
	for _, c := range cs {
		out.Collections = append(out.Collections, collectionPB(c))
	}
	return out, nil
}

// UpdateCollection implements the RPC.
func (s *Ingestion) UpdateCollection(ctx context.Context, r *ingestionv1.UpdateCollectionRequest) (*ingestionv1.UpdateCollectionResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	p, _ := principal.FromContext(ctx)
	if err := embeddingModelAllowed(p, r.GetEmbeddingModel()); err != nil {
		return nil, s.status(ctx, err)
	}
	c, j, err := s.svc.UpdateCollection(ctx, t, p.GetKeyId(), keyLimits(p), r.GetCollection(), r.GetEmbeddingModel())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &ingestionv1.UpdateCollectionResponse{Collection: collectionPB(c)}
	if j != nil {
		out.Job = jobPB(*j)
	}
	return out, nil
}

// DeleteCollection implements the RPC.
func (s *Ingestion) DeleteCollection(ctx context.Context, r *ingestionv1.DeleteCollectionRequest) (*ingestionv1.DeleteCollectionResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	if err := s.svc.DeleteCollection(ctx, t, r.GetCollection()); err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.DeleteCollectionResponse{}, nil
}

// IngestDocument implements the RPC. The access token goes to the domain
// for the one fetch; it is never logged (the field is debug_redact and the
// access log records only the status message, which never carries it).
func (s *Ingestion) IngestDocument(ctx context.Context, r *ingestionv1.IngestDocumentRequest) (*ingestionv1.IngestDocumentResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	d, j, dedup, err := s.svc.Ingest(ctx, t, ingest.Input{
		Collection: r.GetCollection(), Content: r.GetContent(), URL: r.GetUrl(),
		Source: r.GetSource(), ContentType: r.GetContentType(), Token: r.GetAccessToken(), ConnectionID: r.GetConnectionId(),
		By: actor(ctx),
	})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.IngestDocumentResponse{Document: documentPB(d), Job: jobPB(j), Deduplicated: dedup}, nil
}

// CrawlDocuments implements the RPC.
func (s *Ingestion) CrawlDocuments(ctx context.Context, r *ingestionv1.CrawlDocumentsRequest) (*ingestionv1.CrawlDocumentsResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	j, err := s.svc.Crawl(ctx, t, ingest.CrawlInput{
		Collection: r.GetCollection(), URL: r.GetUrl(), MaxDepth: int(r.GetMaxDepth()), MaxPages: int(r.GetMaxPages()),
	})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.CrawlDocumentsResponse{Job: jobPB(j)}, nil
}

// WatchJob implements the streaming RPC.
func (s *Ingestion) WatchJob(r *ingestionv1.WatchJobRequest, stream ingestionv1.IngestionService_WatchJobServer) error {
	ctx := stream.Context()
	t, err := s.tenant(ctx)
	if err != nil {
		return s.status(ctx, err)
	}
	err = s.svc.WatchJob(ctx, t, r.GetJobId(), func(j store.Job) error {
		return stream.Send(&ingestionv1.WatchJobResponse{Job: jobPB(j)})
	})
	if err != nil {
		return s.status(ctx, err)
	}
	return nil
}

// GetDocument implements the RPC.
func (s *Ingestion) GetDocument(ctx context.Context, r *ingestionv1.GetDocumentRequest) (*ingestionv1.GetDocumentResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	d, err := s.svc.GetDocument(ctx, t, r.GetDocumentId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.GetDocumentResponse{Document: documentPB(d)}, nil
}

// GetDocumentText implements the RPC.
func (s *Ingestion) GetDocumentText(ctx context.Context, r *ingestionv1.GetDocumentTextRequest) (*ingestionv1.GetDocumentTextResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	end := -1
	if r.End != nil {
		end = int(r.GetEnd())
		if end < 0 {
			return nil, s.status(ctx, grpcerr.Invalid("end", "must not be negative"))
		}
	}
	d, tr, err := s.svc.DocumentText(ctx, t, r.GetDocumentId(), int(r.GetStart()), end)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.GetDocumentTextResponse{Document: documentPB(d), Text: tr.Text,
		Start: int32(tr.Start), End: int32(tr.End), Length: int32(min(tr.Length, math.MaxInt32))}, nil //nolint:gosec // within Length, a 10 MiB document's
}

// ListDocuments implements the RPC.
func (s *Ingestion) ListDocuments(ctx context.Context, r *ingestionv1.ListDocumentsRequest) (*ingestionv1.ListDocumentsResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	ds, err := s.svc.ListDocuments(ctx, t, r.GetCollection())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &ingestionv1.ListDocumentsResponse{Documents: make([]*ingestionv1.Document, 0, len(ds))}
	for _, d := range ds {
		out.Documents = append(out.Documents, documentPB(d))
	}
	return out, nil
}

// DeleteDocument implements the RPC.
func (s *Ingestion) DeleteDocument(ctx context.Context, r *ingestionv1.DeleteDocumentRequest) (*ingestionv1.DeleteDocumentResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	if err := s.svc.DeleteDocument(ctx, t, r.GetDocumentId()); err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.DeleteDocumentResponse{}, nil
}

// GetJob implements the RPC.
func (s *Ingestion) GetJob(ctx context.Context, r *ingestionv1.GetJobRequest) (*ingestionv1.GetJobResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	j, err := s.svc.GetJob(ctx, t, r.GetJobId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.GetJobResponse{Job: jobPB(j)}, nil
}

// ListJobs implements the RPC.
func (s *Ingestion) ListJobs(ctx context.Context, r *ingestionv1.ListJobsRequest) (*ingestionv1.ListJobsResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	js, err := s.svc.ListJobs(ctx, t, r.GetCollection(), int(r.GetPageSize()))
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &ingestionv1.ListJobsResponse{Jobs: make([]*ingestionv1.Job, 0, len(js))}
	for _, j := range js {
		out.Jobs = append(out.Jobs, jobPB(j))
	}
	return out, nil
}

// keyLimits are the key's own token limits of p, for inference to charge
// a search's query embedding (ADR 0106) and a collection's model probe
// (ADR 0111 §4) to the key as well as the tenant.
// The collection's model need not be among p's allowed models: a narrow
// chat key may search a collection an admin embedded with another model.
func keyLimits(p *authv1.Principal) *inferencev1.KeyLimits {
	if p.GetKeyId() == "" {
		return nil // no key, no key limits: the tenant's apply
	}
	l := p.GetLimits()
	out := &inferencev1.KeyLimits{TokensPerMinute: l.GetTokensPerMinute(), MonthlyTokenBudget: l.GetMonthlyTokenBudget(), BudgetKeyId: p.GetBudgetKeyId()}
	for rp := range principal.RatePools(p.GetTokensPools(), p.GetTokensPool(), p.GetKeyId()) {
		out.TokensPools = append(out.TokensPools, &inferencev1.TokensPool{KeyId: rp.GetKeyId(), TokensPerMinute: rp.GetPerMinute()})
	}
	return out
}

// Search implements the RPC.
func (s *Ingestion) Search(ctx context.Context, r *ingestionv1.SearchRequest) (*ingestionv1.SearchResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	var mode ingest.Mode
	switch r.GetMode() {
	case ingestionv1.SearchMode_SEARCH_MODE_UNSPECIFIED, ingestionv1.SearchMode_SEARCH_MODE_HYBRID:
		mode = ingest.ModeHybrid
	case ingestionv1.SearchMode_SEARCH_MODE_LEXICAL:
		mode = ingest.ModeLexical
	case ingestionv1.SearchMode_SEARCH_MODE_VECTOR:
		mode = ingest.ModeVector
	default:
		return nil, s.status(ctx, grpcerr.Invalid("mode", "must be SEARCH_MODE_HYBRID, SEARCH_MODE_LEXICAL or SEARCH_MODE_VECTOR"))
	}
	p, _ := principal.FromContext(ctx)
	res, err := s.svc.SearchQuery(ctx, ingest.Query{Tenant: t, Key: p.GetKeyId(), Collection: r.GetCollection(), Text: r.GetQuery(), TopK: int(r.GetTopK()), Mode: mode,
		KeyLimits: keyLimits(p)})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	ps := res.Passages
	out := &ingestionv1.SearchResponse{Passages: make([]*ingestionv1.Passage, 0, len(ps)), Warning: res.Warning}
	for _, p := range ps {
		pb := &ingestionv1.Passage{
			Text: p.Text, DocumentId: p.DocumentID, Source: p.Source, Score: p.Score, ChunkId: p.ChunkID,
			Title: p.Title, Heading: p.Heading, Url: p.URL,
		}
		if !p.UpdatedAt.IsZero() {
			pb.UpdatedAt = timestamppb.New(p.UpdatedAt)
		}
		if loc := ingest.Covering(p.Spans); loc != nil {
			pb.Location = locationPB(*loc)
			pb.Spans = make([]*ingestionv1.PassageSpan, len(p.Spans))
			for i, sp := range p.Spans {
				pb.Spans[i] = &ingestionv1.PassageSpan{TextStart: int32(sp.TextStart), TextEnd: int32(sp.TextEnd), Location: locationPB(sp.Location)} //nolint:gosec // offsets < 2^31 (decodeLocation)
			}
		}
		out.Passages = append(out.Passages, pb)
	}
	return out, nil
}

// locationPB is l on the wire: lines and pages only where the format has
// them (0 is "none" in extract.Location).
func locationPB(l extract.Location) *ingestionv1.Location {
	pb := &ingestionv1.Location{Start: int32(l.Start), End: int32(l.End)} //nolint:gosec // offsets < 2^31 (decodeLocation)
	opt := func(v int) *int32 {
		if v == 0 {
			return nil
		}
		return proto.Int32(int32(v)) //nolint:gosec // as above
	}
	pb.Line, pb.LineEnd, pb.Page, pb.PageEnd = opt(l.LineStart), opt(l.LineEnd), opt(l.Page), opt(l.PageEnd)
	return pb
}

func collectionPB(c store.Collection) *ingestionv1.Collection {
	return &ingestionv1.Collection{Name: c.Name, Description: c.Description, DocumentCount: c.Documents, CreateTime: timestamppb.New(c.CreatedAt),
		EmbeddingModel: store.PublicModel(c.EmbeddingModel), EmbeddingDimensions: int32(min(c.EmbeddingDims, 1<<30))} //nolint:gosec // bounded
}

func documentPB(d ingest.Document) *ingestionv1.Document {
	return &ingestionv1.Document{
		Id: d.ID, Collection: d.Collection, Source: d.SourceName, ContentType: d.ContentType,
		SizeBytes: d.SizeBytes, ChunkCount: int32(min(d.Chunks, 1<<30)), //nolint:gosec // bounded
		State: ingestionv1.DocumentState(d.State), CreateTime: timestamppb.New(d.CreatedAt), //nolint:gosec // proto numbering
		TextAvailable: d.HasText,
	}
}

func jobPB(j store.Job) *ingestionv1.Job {
	return &ingestionv1.Job{
		Id: j.ID, DocumentId: j.DocumentID, Collection: j.Collection, State: ingestionv1.JobState(j.State), //nolint:gosec // proto numbering
		ChunksDone: int32(min(j.Done, 1<<30)), ChunksTotal: int32(min(j.Total, 1<<30)), //nolint:gosec // bounded
		Error: j.Error, CreateTime: timestamppb.New(j.CreatedAt), UpdateTime: timestamppb.New(j.UpdatedAt),
		Kind: jobKinds[j.Kind], ParentJobId: j.ParentID, Detail: j.Detail, Retrying: j.Retrying,
		PagesDone: int32(min(j.PagesDone, 1<<30)), PagesMax: int32(min(j.PagesMax, 1<<30)), //nolint:gosec // bounded
		DocumentsPending: int32(min(j.ChildPending, 1<<30)), DocumentsFailed: int32(min(j.ChildFailed, 1<<30)), //nolint:gosec // bounded
	}
}

var jobKinds = map[string]ingestionv1.JobKind{
	store.KindIngest: ingestionv1.JobKind_JOB_KIND_INGEST, store.KindReembed: ingestionv1.JobKind_JOB_KIND_REEMBED,
	store.KindReindex: ingestionv1.JobKind_JOB_KIND_REINDEX,
	// a rechunk job re-chunks a document as a reindex job does, from its
	// stored text instead of content given again (ADR 0127)
	store.KindRechunk: ingestionv1.JobKind_JOB_KIND_REINDEX,
	store.KindCrawl:   ingestionv1.JobKind_JOB_KIND_CRAWL,
}

// CreateConnection implements the RPC.
func (s *Ingestion) CreateConnection(ctx context.Context, r *ingestionv1.CreateConnectionRequest) (*ingestionv1.CreateConnectionResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	c, authURL, err := s.svc.CreateConnection(ctx, t, actor(ctx), ingest.ConnectionInput{
		Name: r.GetName(), AuthEndpoint: r.GetAuthorizationEndpoint(), TokenEndpoint: r.GetTokenEndpoint(),
		RevocationEndpoint: r.GetRevocationEndpoint(), ClientID: r.GetClientId(), ClientSecret: r.GetClientSecret(),
		RedirectURI: r.GetRedirectUri(), Scopes: r.GetScopes(), ResourceHosts: r.GetResourceHosts(),
	})
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.CreateConnectionResponse{Connection: connectionPB(c), AuthorizationUrl: authURL}, nil
}

// CompleteConnection implements the RPC.
func (s *Ingestion) CompleteConnection(ctx context.Context, r *ingestionv1.CompleteConnectionRequest) (*ingestionv1.CompleteConnectionResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	c, err := s.svc.CompleteConnection(ctx, t, actor(ctx), r.GetConnectionId(), r.GetState(), r.GetCode())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.CompleteConnectionResponse{Connection: connectionPB(c)}, nil
}

// ListConnections implements the RPC.
func (s *Ingestion) ListConnections(ctx context.Context, _ *ingestionv1.ListConnectionsRequest) (*ingestionv1.ListConnectionsResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	cs, err := s.svc.ListConnections(ctx, t)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &ingestionv1.ListConnectionsResponse{Connections: make([]*ingestionv1.Connection, 0, len(cs))}
	for _, c := range cs {
		out.Connections = append(out.Connections, connectionPB(c))
	}
	return out, nil
}

// DeleteConnection implements the RPC.
func (s *Ingestion) DeleteConnection(ctx context.Context, r *ingestionv1.DeleteConnectionRequest) (*ingestionv1.DeleteConnectionResponse, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	revoked, n, err := s.svc.DeleteConnection(ctx, t, r.GetConnectionId(), r.GetPurgeDocuments())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &ingestionv1.DeleteConnectionResponse{Revoked: revoked, DocumentsDeleted: int32(min(n, 1<<30))}, nil //nolint:gosec // bounded
}

func connectionPB(c store.Connection) *ingestionv1.Connection {
	return &ingestionv1.Connection{
		Id: c.ID, Name: c.Name, AuthorizationEndpoint: c.AuthEndpoint, TokenEndpoint: c.TokenEndpoint,
		RevocationEndpoint: c.RevocationEndpoint, ClientId: c.ClientID, Scopes: c.Scopes, RedirectUri: c.RedirectURI,
		State: ingestionv1.ConnectionState(c.Status), CreateTime: timestamppb.New(c.CreatedAt), //nolint:gosec // proto numbering
		ResourceHosts: ingest.TokenHosts(c), CreatedBy: ingest.CreatedBy(c),
	}
}

// actor is the verified principal of the call (s.tenant has checked there
// is one): its key and subject, never a value of the request.
func actor(ctx context.Context) ingest.Actor {
	p, _ := principal.FromContext(ctx)
	return ingest.Actor{KeyID: p.GetKeyId(), Subject: p.GetSubject(), MemberID: p.GetMemberId()}
}
