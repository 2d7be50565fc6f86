package permissions

import "net/http"

// Service names of the callers (spiffe://rampart.local/svc/<name>).
const (
	Edge         = "edge"
	Auth         = "auth"
	Keyvault     = "keyvault"
	Inference    = "inference"
	Ingestion    = "ingestion"
	SlackAdapter = "slackadapter"
	CLI          = "rampart-cli"
)

// Full gRPC service names.
const (
	authSvc      = "/rampart.auth.v1.AuthService/"
	keySvc       = "/rampart.auth.v1.KeyService/"
	memberSvc    = "/rampart.auth.v1.MemberService/"
	tenantSvc    = "/rampart.auth.v1.TenantService/"
	auditSvc     = "/rampart.auth.v1.AuditService/"
	secretsSvc   = "/rampart.keyvault.v1.SecretsService/" //nolint:gosec // G101: a gRPC service name, not a credential
	kmsSvc       = "/rampart.keyvault.v1.KmsService/"
	obsSvc       = "/rampart.keyvault.v1.ObservabilityService/"
	shredSvc     = "/rampart.keyvault.v1.TenantAdminService/"
	keyWrapSvc   = "/rampart.keyvault.v1.KeyWrapService/"
	shredEvtSvc  = "/rampart.keyvault.v1.ShredEventsService/"
	inferenceSvc = "/rampart.inference.v1.InferenceService/"
	ingestionSvc = "/rampart.ingestion.v1.IngestionService/"
	slackSvc     = "/rampart.slackadapter.v1.SlackAdapterService/"
)

// api is an authenticated, tenant-bound REST route with the admin body
// limit and the requests rate class; the options adjust it.
func api(method, pattern, rpc string, minRole Role, scopes ...string) Route {
	return Route{Method: method, Pattern: pattern, RPC: rpc, Scopes: scopes, MinRole: minRole,
		Tenant: BindTenant, Rate: RateRequests, MaxBody: BodyAdmin}
}

func public(method, pattern, note string) Route {
	return Route{Method: method, Pattern: pattern, Public: true, Tenant: BindNone, Rate: RateNone,
		MaxBody: BodyAdmin, Note: note}
}

func (r Route) platform(note string) Route {
	r.Tenant, r.Note = BindPlatform, note
	return r
}

func (r Route) operator(note string) Route {
	r.Tenant, r.Note = BindOperator, note
	return r
}

func (r Route) note(n string) Route { r.Note = n; return r }

func (r Route) model(stream bool) Route {
	r.Rate, r.MaxBody, r.Stream = RateModel, BodyModel, stream
	return r
}

func (r Route) body(n int64) Route { r.MaxBody = n; return r }

// streaming routes answer with a stream that lasts as long as what it
// follows (the stream write deadline, not the request one).
func (r Route) streaming() Route { r.Stream = true; return r }

const (
	get   = http.MethodGet
	post  = http.MethodPost
	put   = http.MethodPut
	patch = http.MethodPatch
	del   = http.MethodDelete
)

// routes is the edge's route table. Scopes: what the key must hold; role:
// the minimum role of its subject. Role only narrows, it never stands in for
// a scope (owner + chat:write cannot read prompt logs).
var routes = []Route{
	public(get, "/healthz", "liveness"),
	public(get, "/readyz", "readiness (auth reachable)"),
	public(get, "/openapi.json", "the API description"),
	public("", "/slack/*", "relayed to the Slack adapter, which verifies Slack's request signature and timestamp"),

	// auth: identity, keys, members, tenants, audit.
	api(get, "/v1/whoami", authSvc+"WhoAmI", RoleViewer),
	api(post, "/v1/keys", keySvc+"CreateKey", RoleMember, ScopeKeysWrite).
		note("covering rule: the new key's role, scopes, models, endpoints, limits and expiry are within the caller's"),
	api(get, "/v1/keys", keySvc+"ListKeys", RoleViewer).
		note("own keys' metadata; owners/admins with the admin scope see the tenant's"),
	api(get, "/v1/keys/{key_id}", keySvc+"GetKey", RoleViewer).
		note("own key, or any of the tenant's for owners/admins with the admin scope"),
	api(post, "/v1/keys/{key_id}:rotate", keySvc+"RotateKey", RoleMember, ScopeKeysWrite).
		note("covering rule on the target key"),
	api(post, "/v1/keys/{key_id}:revoke", keySvc+"RevokeKey", RoleMember, ScopeKeysWrite).
		note("covering rule on the target key"),
	api(post, "/v1/members", memberSvc+"CreateMember", RoleAdmin, ScopeAdmin).
		note("only owners grant owner"),
	api(get, "/v1/members", memberSvc+"ListMembers", RoleViewer),
	api(get, "/v1/members/{member_id}", memberSvc+"GetMember", RoleViewer),
	api(patch, "/v1/members/{member_id}", memberSvc+"UpdateMember", RoleAdmin, ScopeAdmin).
		note("only owners grant or remove owner; the last owner stays"),
	api(del, "/v1/members/{member_id}", memberSvc+"DeleteMember", RoleAdmin, ScopeAdmin).
		note("only owners remove owners; the last owner stays"),
	api(post, "/v1/tenants", tenantSvc+"CreateTenant", RoleOwner, ScopeAdmin).platform("platform operator only"),
	api(get, "/v1/tenants", tenantSvc+"ListTenants", RoleViewer).note("own tenant; the platform operator sees all"),
	api(get, "/v1/tenants/{tenant_id}", tenantSvc+"GetTenant", RoleViewer).note("own tenant; the platform operator sees all"),
	api(post, "/v1/tenants/{tenant_id}:suspend", tenantSvc+"SuspendTenant", RoleOwner, ScopeAdmin).platform("platform operator only"),
	api(post, "/v1/tenants/{tenant_id}:resume", tenantSvc+"ResumeTenant", RoleOwner, ScopeAdmin).platform("platform operator only"),
	api(del, "/v1/tenants/{tenant_id}", tenantSvc+"DeleteTenant", RoleOwner, ScopeAdmin).platform("platform operator only"),
	api(put, "/v1/tenants/{tenant_id}/limits", tenantSvc+"UpdateTenantLimits", RoleOwner, ScopeAdmin).
		note("the tenant's owners (admin scope), within the ceiling the platform operator set (ADR 0058), or the platform operator; key limits only narrow tenant limits"),
	api(get, "/v1/audit", auditSvc+"ListAuditEvents", RoleAdmin, ScopeAdmin).
		note("own tenant's chain; other tenants' and the platform chain for the platform operator"),
	api(get, "/v1/audit:verify", auditSvc+"VerifyAuditChain", RoleAdmin, ScopeAdmin),

	// keyvault: secrets (AWS Secrets Manager semantics), KMS, observability.
	api(post, "/v1/secrets", secretsSvc+"CreateSecret", RoleAdmin, ScopeSecretsWrite),
	api(get, "/v1/secrets", secretsSvc+"ListSecrets", RoleMember, ScopeSecretsRead),
	api(get, "/v1/secrets/{name=**}", secretsSvc+"DescribeSecret", RoleMember, ScopeSecretsRead),
	api(get, "/v1/secrets/{name=**}:value", secretsSvc+"GetSecretValue", RoleMember, ScopeSecretsRead).
		note("and keyvault's secrets policy; service-owned secrets only for their service"),
	api(post, "/v1/secrets:batchGet", secretsSvc+"BatchGetSecretValue", RoleMember, ScopeSecretsRead).
		note("and keyvault's secrets policy, per secret"),
	api(post, "/v1/secrets/{name=**}:putValue", secretsSvc+"PutSecretValue", RoleAdmin, ScopeSecretsWrite),
	api(patch, "/v1/secrets/{name=**}", secretsSvc+"UpdateSecret", RoleAdmin, ScopeSecretsWrite),
	api(get, "/v1/secrets/{name=**}:versions", secretsSvc+"ListSecretVersionIds", RoleMember, ScopeSecretsRead),
	api(post, "/v1/secrets/{name=**}:updateVersionStage", secretsSvc+"UpdateSecretVersionStage", RoleAdmin, ScopeSecretsWrite),
	api(del, "/v1/secrets/{name=**}", secretsSvc+"DeleteSecret", RoleAdmin, ScopeSecretsWrite),
	api(post, "/v1/secrets/{name=**}:restore", secretsSvc+"RestoreSecret", RoleAdmin, ScopeSecretsWrite),
	api(post, "/v1/secrets/{name=**}:tag", secretsSvc+"TagResource", RoleAdmin, ScopeSecretsWrite),
	api(post, "/v1/secrets/{name=**}:untag", secretsSvc+"UntagResource", RoleAdmin, ScopeSecretsWrite),
	api(post, "/v1/secrets/{name=**}:rotate", secretsSvc+"RotateSecret", RoleAdmin, ScopeSecretsWrite),
	api(post, "/v1/secrets/{name=**}:cancelRotate", secretsSvc+"CancelRotateSecret", RoleAdmin, ScopeSecretsWrite),
	api(post, "/v1/secrets/{name=**}:rollback", secretsSvc+"RollbackSecret", RoleAdmin, ScopeSecretsWrite),
	api(post, "/v1/kms/key:rotate", kmsSvc+"RotateKey", RoleAdmin, ScopeAdmin).
		note("rotates the caller's tenant's key-encryption key"),
	api(get, "/api/observability/secrets", obsSvc+"ListSecretsObservability", RoleMember, ScopeSecretsRead).
		note("metadata only, never values"),

	// inference: OpenAI-compatible routes (served by the edge's handler,
	// which calls inference) and usage.
	api(post, "/v1/chat/completions", inferenceSvc+"ChatCompletion", RoleMember, ScopeChatWrite).model(true).
		note("StreamChatCompletion when stream=true; allowed_models and token limits in inference"),
	api(post, "/v1/completions", inferenceSvc+"ChatCompletion", RoleMember, ScopeChatWrite).model(true).
		note("legacy completions: the chat RPCs with format COMPLETIONS (StreamChatCompletion when stream=true), mapped to chat in inference"),
	api(post, "/v1/responses", inferenceSvc+"ChatCompletion", RoleMember, ScopeChatWrite).model(true).
		note("Responses API: the chat RPCs with format RESPONSES (StreamChatCompletion when stream=true), mapped to chat in inference; stored (sealed with the tenant's data key) only with store=true"),
	api(get, "/v1/responses/{response_id}", inferenceSvc+"GetResponse", RoleMember, ScopeChatWrite).
		note("a stored response (store=true) of the caller's tenant; another tenant's is 404"),
	api(del, "/v1/responses/{response_id}", inferenceSvc+"DeleteResponse", RoleMember, ScopeChatWrite).
		note("deletes a stored response of the caller's tenant; another tenant's is 404"),
	api(get, "/v1/responses/{response_id}/input_items", inferenceSvc+"ListResponseInputItems", RoleMember, ScopeChatWrite).
		note("the input items of a stored response of the caller's tenant (after, limit, order); another tenant's is 404"),
	api(post, "/v1/responses/{response_id}/cancel", inferenceSvc+"CancelResponse", RoleMember, ScopeChatWrite).
		note("no background responses run, so a stored response of the caller's tenant is 400 \"Cannot cancel a synchronous response.\"; another tenant's is 404"),
	api(post, "/v1/embeddings", inferenceSvc+"Embeddings", RoleMember, ScopeEmbeddingsWrite).model(false),
	api(get, "/v1/models", inferenceSvc+"ListModels", RoleMember, ScopeChatWrite),
	api(get, "/v1/models/{id=**}", inferenceSvc+"GetModel", RoleMember, ScopeChatWrite),
	api(post, "/v1/rampart/assistants", inferenceSvc+"CreateAssistant", RoleAdmin, ScopeAdmin).
		note("tenant model names with retrieval settings; used through /v1/chat/completions with chat:write"),
	api(get, "/v1/rampart/assistants", inferenceSvc+"ListAssistants", RoleAdmin, ScopeAdmin),
	api(get, "/v1/rampart/assistants/{name}", inferenceSvc+"GetAssistant", RoleAdmin, ScopeAdmin),
	api(del, "/v1/rampart/assistants/{name}", inferenceSvc+"DeleteAssistant", RoleAdmin, ScopeAdmin),
	api(get, "/v1/usage", inferenceSvc+"GetUsage", RoleViewer, ScopeUsageRead),
	api(get, "/v1/usage/logs", inferenceSvc+"ListPromptLogs", RoleAdmin, ScopeUsageRead).
		note("decrypted prompts: usage:read AND owner/admin; the role never replaces the scope"),
	api(get, "/v1/usage/logs/{request_id}", inferenceSvc+"GetPromptLog", RoleAdmin, ScopeUsageRead).
		note("decrypted prompts: usage:read AND owner/admin"),

	// ingestion: collections, documents, jobs, data-source connections, search.
	api(post, "/v1/collections", ingestionSvc+"CreateCollection", RoleMember, ScopeIngestWrite),
	api(patch, "/v1/collections/{collection}", ingestionSvc+"UpdateCollection", RoleMember, ScopeIngestWrite).
		note("changes the embedding model; queues a re-embed job"),
	api(get, "/v1/collections", ingestionSvc+"ListCollections", RoleViewer, ScopeIngestRead),
	api(del, "/v1/collections/{collection}", ingestionSvc+"DeleteCollection", RoleMember, ScopeIngestWrite),
	api(post, "/v1/collections/{collection}/documents", ingestionSvc+"IngestDocument", RoleMember, ScopeIngestWrite).body(BodyUpload),
	api(post, "/v1/collections/{collection}/documents:crawl", ingestionSvc+"CrawlDocuments", RoleMember, ScopeIngestWrite).
		note("same-host crawl within bounded depth and pages, every fetch through the SSRF guard; one document per page"),
	api(get, "/v1/collections/{collection}/documents", ingestionSvc+"ListDocuments", RoleViewer, ScopeIngestRead),
	api(get, "/v1/documents/{document_id}", ingestionSvc+"GetDocument", RoleViewer, ScopeIngestRead),
	api(get, "/v1/documents/{document_id}/text", ingestionSvc+"GetDocumentText", RoleViewer, ScopeIngestRead).
		note("the extracted text citation locations index; as reading the document"),
	api(del, "/v1/documents/{document_id}", ingestionSvc+"DeleteDocument", RoleMember, ScopeIngestWrite),
	api(get, "/v1/ingest/jobs", ingestionSvc+"ListJobs", RoleViewer, ScopeIngestRead),
	api(get, "/v1/ingest/jobs/{job_id}", ingestionSvc+"GetJob", RoleViewer, ScopeIngestRead),
	api(get, "/v1/ingest/jobs/{job_id}:watch", ingestionSvc+"WatchJob", RoleViewer, ScopeIngestRead).streaming().
		note("newline-delimited JSON stream of the job until it ends"),
	api(post, "/v1/ingest/connections", ingestionSvc+"CreateConnection", RoleMember, ScopeIngestWrite).
		note("client secret and tokens stored only in keyvault"),
	api(get, "/v1/ingest/connections", ingestionSvc+"ListConnections", RoleViewer, ScopeIngestRead),
	api(post, "/v1/ingest/connections/{connection_id}:complete", ingestionSvc+"CompleteConnection", RoleMember, ScopeIngestWrite),
	api(del, "/v1/ingest/connections/{connection_id}", ingestionSvc+"DeleteConnection", RoleMember, ScopeIngestWrite),
	api(post, "/v1/search", ingestionSvc+"Search", RoleViewer, ScopeIngestRead),

	// slackadapter: the Slack app is deployment configuration; tenants
	// install workspaces into it.
	api(put, "/v1/slack/app", slackSvc+"ConfigureApp", RoleOwner, ScopeAdmin).
		operator("deployment configuration: only `rampart slack app set` over mTLS; every API key is refused"),
	api(get, "/v1/slack/install", slackSvc+"GetInstallUrl", RoleAdmin, ScopeAdmin),
	api(get, "/v1/slack/installations", slackSvc+"ListInstallations", RoleAdmin, ScopeAdmin),
	api(put, "/v1/slack/bindings", slackSvc+"SetBinding", RoleAdmin, ScopeAdmin).
		note("binds a workspace or channel of the tenant's installation to an assistant or collections"),
	api(get, "/v1/slack/bindings", slackSvc+"ListBindings", RoleAdmin, ScopeAdmin),
	api(del, "/v1/slack/bindings/{team_id}", slackSvc+"DeleteBinding", RoleAdmin, ScopeAdmin),
	api(put, "/v1/slack/installations/{team_id}/policy", slackSvc+"SetInstallationPolicy", RoleAdmin, ScopeAdmin).
		note("what Slack users may do with the tenant's workspace: what `/rampart kb use` may bind, whether other organisations' users are answered; with etag only if unchanged since read (409 aborted)"),
	api(patch, "/v1/slack/installations/{team_id}/policy", slackSvc+"UpdateInstallationPolicy", RoleAdmin, ScopeAdmin).
		note("changes the policy's fields named by update_mask; with policy.etag only if unchanged since read (409 aborted)"),
}

// rpcs is every gRPC method of every Rampart service with its allowed
// callers. A method reached from a REST route takes that route's scopes,
// role and tenant binding; the others are service-to-service.
var rpcs = []RPC{
	{Name: authSvc + "VerifyKey", Callers: []string{Edge, Keyvault, SlackAdapter}, Tenant: BindNone,
		Note: "checks a presented API key; returns the signed principal"},
	{Name: authSvc + "WatchRevocations", Callers: []string{Edge, SlackAdapter}, Tenant: BindNone,
		Note: "the edge and the Slack adapter drop cached principals of revoked, expired or changed keys and suspended tenants"},
	{Name: authSvc + "GetSigningKeys", Callers: []string{Edge, Keyvault, Inference, Ingestion, SlackAdapter, CLI}, Tenant: BindNone,
		Note: "public keys that verify principal assertions"},
	{Name: authSvc + "WatchTenantEvents", Callers: []string{Edge, Keyvault, Inference, Ingestion, SlackAdapter, CLI}, Tenant: BindNone},
	{Name: authSvc + "GetTenantLimits", Callers: []string{Inference}, Tenant: BindNone,
		Note: "a tenant's stored limits for its background jobs on an inference replica (ADR 0106 §2); no principal"},
	{Name: authSvc + "Bootstrap", Callers: []string{CLI}, Tenant: BindOperator, Note: "creates the platform tenant once"},
	{Name: authSvc + "RecoverOwner", Callers: []string{CLI}, Tenant: BindOperator,
		Note: "`rampart tenant recover-owner`: a new owner key for a tenant that lost its owners; audited"},
	{Name: authSvc + "WhoAmI", Callers: []string{Edge}, Principal: true},

	{Name: keySvc + "CreateKey", Callers: []string{Edge, SlackAdapter}, Principal: true},
	{Name: keySvc + "GetKey", Callers: []string{Edge, Keyvault}, Principal: true},
	{Name: keySvc + "ListKeys", Callers: []string{Edge}, Principal: true},
	{Name: keySvc + "RotateKey", Callers: []string{Edge, Keyvault}, Principal: true},
	{Name: keySvc + "RevokeKey", Callers: []string{Edge}, Principal: true},

	{Name: memberSvc + "CreateMember", Callers: []string{Edge}, Principal: true},
	{Name: memberSvc + "GetMember", Callers: []string{Edge}, Principal: true},
	{Name: memberSvc + "ListMembers", Callers: []string{Edge}, Principal: true},
	{Name: memberSvc + "UpdateMember", Callers: []string{Edge}, Principal: true},
	{Name: memberSvc + "DeleteMember", Callers: []string{Edge}, Principal: true},

	{Name: tenantSvc + "CreateTenant", Callers: []string{Edge}, Principal: true},
	{Name: tenantSvc + "GetTenant", Callers: []string{Edge}, Principal: true},
	{Name: tenantSvc + "ListTenants", Callers: []string{Edge}, Principal: true},
	{Name: tenantSvc + "SuspendTenant", Callers: []string{Edge}, Principal: true},
	{Name: tenantSvc + "ResumeTenant", Callers: []string{Edge}, Principal: true},
	{Name: tenantSvc + "DeleteTenant", Callers: []string{Edge}, Principal: true},
	{Name: tenantSvc + "UpdateTenantLimits", Callers: []string{Edge}, Principal: true},

	{Name: auditSvc + "ListAuditEvents", Callers: []string{Edge}, Principal: true},
	{Name: auditSvc + "VerifyAuditChain", Callers: []string{Edge}, Principal: true},

	secretRPC("CreateSecret"), secretRPC("DescribeSecret"), secretRPC("GetSecretValue"),
	secretRPC("BatchGetSecretValue"), secretRPC("PutSecretValue"), secretRPC("UpdateSecret"),
	secretRPC("ListSecrets"), secretRPC("ListSecretVersionIds"), secretRPC("UpdateSecretVersionStage"),
	secretRPC("DeleteSecret"), secretRPC("RestoreSecret"), secretRPC("TagResource"),
	secretRPC("UntagResource"), secretRPC("RotateSecret"), secretRPC("CancelRotateSecret"),
	secretRPC("RollbackSecret"),

	kmsRPC("GenerateDataKey"), kmsRPC("Decrypt"), kmsRPC("ReEncrypt"), kmsRPC("RotateKey"),
	{Name: obsSvc + "ListSecretsObservability", Callers: []string{Edge, CLI}, Principal: true},
	{Name: shredSvc + "ShredTenant", Callers: []string{Auth, CLI}, Tenant: BindPlatform,
		Note: "crypto-shreds a purged tenant's keys; acts on the tenant named in the request (no principal)"},
	{Name: shredSvc + "DeleteServiceSecret", Callers: []string{Ingestion}, Tenant: BindTenant,
		Note: "delete-only, at once: a secret the calling service owns by its name's prefix, of the tenant named in the request (no principal); ingestion drops the data-source grant of a member removed or lowered to viewer (ADR 0132 §1)"},
	{Name: keyWrapSvc + "WrapForTenant", Callers: []string{Inference}, Tenant: BindTenant,
		Note: "encrypt-only: a fresh data key for the tenant named in the request, never an existing one unwrapped; inference seals legacy system prompts of tenants that are not calling (ADR 0077)"},
	{Name: shredEvtSvc + "WatchShreds", Callers: []string{Ingestion, Inference}, Tenant: BindNone,
		Note: "the stream of crypto-shreds (tenant ids only): ingestion and inference drop a shredded tenant's cached data keys at once; audited (ADR 0084)"},

	modelRPC("ChatCompletion"), modelRPC("StreamChatCompletion"), modelRPC("Embeddings"),
	modelRPC("ListModels"), modelRPC("GetModel"),
	{Name: inferenceSvc + "GetResponse", Callers: []string{Edge}, Principal: true},
	{Name: inferenceSvc + "DeleteResponse", Callers: []string{Edge}, Principal: true},
	{Name: inferenceSvc + "ListResponseInputItems", Callers: []string{Edge}, Principal: true},
	{Name: inferenceSvc + "CancelResponse", Callers: []string{Edge}, Principal: true},
	{Name: inferenceSvc + "EmbedForTenant", Callers: []string{Ingestion}, Tenant: BindTenant,
		Note: "background ingest/re-embed jobs; the tenant is named in the request and trusted only from ingestion (ADR 0023)"},
	{Name: inferenceSvc + "CreateAssistant", Callers: []string{Edge}, Principal: true},
	{Name: inferenceSvc + "ListAssistants", Callers: []string{Edge}, Principal: true},
	{Name: inferenceSvc + "GetAssistant", Callers: []string{Edge}, Principal: true},
	{Name: inferenceSvc + "DeleteAssistant", Callers: []string{Edge}, Principal: true},
	{Name: inferenceSvc + "GetUsage", Callers: []string{Edge, CLI}, Principal: true},
	{Name: inferenceSvc + "ListPromptLogs", Callers: []string{Edge, CLI}, Principal: true},
	{Name: inferenceSvc + "GetPromptLog", Callers: []string{Edge, CLI}, Principal: true},

	ingestRPC("CreateCollection"), ingestRPC("UpdateCollection"), ingestRPC("DeleteCollection"),
	{Name: ingestionSvc + "ListCollections", Callers: []string{Edge, Inference, SlackAdapter}, Principal: true,
		Note: "inference checks that the collections an assistant names exist, and slackadapter those a binding names, on the admin's principal"},
	ingestRPC("IngestDocument"), ingestRPC("CrawlDocuments"), ingestRPC("GetDocument"), ingestRPC("GetDocumentText"), ingestRPC("ListDocuments"),
	ingestRPC("DeleteDocument"), ingestRPC("GetJob"), ingestRPC("WatchJob"), ingestRPC("ListJobs"),
	ingestRPC("CreateConnection"), ingestRPC("CompleteConnection"), ingestRPC("ListConnections"),
	ingestRPC("DeleteConnection"),
	{Name: ingestionSvc + "Search", Callers: []string{Edge, Inference}, Principal: true,
		Note: "inference calls it for retrieval-augmented answers, on the caller's principal"},

	{Name: slackSvc + "HandleEvent", Callers: []string{Edge}, Tenant: BindNone,
		Note: "Slack events relayed by the edge; authenticated by Slack's signature"},
	slackRPC("GetInstallUrl", []string{Edge}, Auth),
	{Name: slackSvc + "ConfigureApp", Callers: []string{Edge, CLI},
		Note: "the handler admits only the CLI's mTLS identity; relayed API keys are refused"},
	{Name: slackSvc + "GetApp", Callers: []string{CLI}, Tenant: BindOperator, Note: "`rampart slack app show`"},
	slackRPC("ListInstallations", []string{Edge, CLI}),
	slackRPC("SetBinding", []string{Edge}, Ingestion),
	slackRPC("ListBindings", []string{Edge}),
	slackRPC("DeleteBinding", []string{Edge}),
	slackRPC("SetInstallationPolicy", []string{Edge}, Ingestion),
	slackRPC("UpdateInstallationPolicy", []string{Edge}, Ingestion),
}

// slackRPC is a Slack adapter RPC taking a principal, with the services
// it forwards that principal to: auth only where the adapter creates its
// tenant key (the install link), ingestion where it checks collections
// (ADR 0105 §3). Every other call carries no delegation.
func slackRPC(m string, callers []string, forwards ...string) RPC {
	return RPC{Name: slackSvc + m, Callers: callers, Principal: true, Forwards: append([]string{}, forwards...)}
}

func secretRPC(m string) RPC {
	return RPC{Name: secretsSvc + m, Callers: []string{Edge, CLI, SlackAdapter, Inference, Ingestion, Auth}, Principal: true,
		Tenant: BindTenant, Note: "per secret name: keyvault's secrets policy"}
}

func kmsRPC(m string) RPC {
	return RPC{Name: kmsSvc + m, Callers: []string{Ingestion, Inference, Edge, CLI}, Principal: true, Tenant: BindTenant,
		Note: "data keys of the principal's tenant"}
}

func modelRPC(m string) RPC {
	return RPC{Name: inferenceSvc + m, Callers: []string{Edge, Ingestion, SlackAdapter}, Principal: true, Tenant: BindTenant}
}

func ingestRPC(m string) RPC {
	return RPC{Name: ingestionSvc + m, Callers: []string{Edge}, Principal: true}
}
