package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
)

func adminOf(tenant string) *authv1.Principal {
	return principalFor(tenant, "k-admin", func(p *authv1.Principal) { p.Scopes = []string{"admin"} })
}

func modelIDs(t *testing.T, e *env, p *authv1.Principal) map[string]string {
	t.Helper()
	resp, err := e.client.ListModels(e.ctx(t, p), &inferencev1.ListModelsRequest{})
	require.NoError(t, err)
	out := map[string]string{}
	for _, m := range resp.GetModels() {
		out[m.GetId()] = m.GetOwnedBy()
	}
	return out
}

func TestAssistants(t *testing.T) {
	e, fake := ragEnv(t)
	admin := e.ctx(t, adminOf("t1"))
	created, err := e.client.CreateAssistant(admin, &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
		Name: "kb-support", Model: "rampart-extractive", Collections: []string{"handbook"},
		SystemPrompt: "You answer IT questions.", TopK: 3, Description: "IT helpdesk"}})
	require.NoError(t, err)
	require.Equal(t, "kb-support", created.GetAssistant().GetName())
	require.NotZero(t, created.GetAssistant().GetCreated())
	_, err = e.client.CreateAssistant(admin, &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
		Name: "kb-llm", Model: "gpt-fake", Collections: []string{"handbook"}, SystemPrompt: "You are the IT helpdesk."}})
	require.NoError(t, err)

	// Listed in /v1/models for t1 only, usable as a model.
	require.Equal(t, "rampart-assistant", modelIDs(t, e, principalFor("t1", "k1"))["kb-support"])
	require.NotContains(t, modelIDs(t, e, principalFor("t2", "k2")), "kb-support")
	got, err := e.client.GetModel(e.ctx(t, principalFor("t1", "k1")), &inferencev1.GetModelRequest{Model: "kb-support"})
	require.NoError(t, err)
	require.Equal(t, "kb-support", got.GetModel().GetId())

	resp, err := e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{
		Body: chatBody("kb-support", "How often do VPN certificates rotate?", "")})
	require.NoError(t, err)
	var c ragCompletion
	require.NoError(t, json.Unmarshal(resp.GetBody(), &c))
	require.Contains(t, c.Choices[0].Message.Content, `VPN certificates rotate every 45 days." [1]`)
	require.NotContains(t, c.Choices[0].Message.Content, "IT questions", "the system prompt is not a source")
	require.Equal(t, "vpn.md", c.Rampart.Citations[0].Source)
	var head struct {
		Model string `json:"model"`
	}
	require.NoError(t, json.Unmarshal(resp.GetBody(), &head))
	require.Equal(t, "kb-support", head.Model)
	s := e.srv.Ingestion.Searches()
	require.Equal(t, int32(3), s[len(s)-1].TopK, "the assistant's top_k")

	// An LLM assistant: its system prompt first, then the passages.
	_, err = e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{
		Body: chatBody("kb-llm", "How often do VPN certificates rotate?", "")})
	require.NoError(t, err)
	var up struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	require.NoError(t, json.Unmarshal(fake.LastBody(), &up))
	require.Equal(t, "gpt-4o-mini", up.Model)
	require.Len(t, up.Messages, 3)
	require.Equal(t, "You are the IT helpdesk.", up.Messages[0].Content)
	require.Contains(t, up.Messages[1].Content, "[1] Source: vpn.md")

	// Another tenant can neither use, see nor delete it.
	_, err = e.client.ChatCompletion(e.ctx(t, principalFor("t2", "k2")), &inferencev1.ChatCompletionRequest{
		Body: chatBody("kb-support", "How often do VPN certificates rotate?", "")})
	code, reason, _ := errInfo(t, err)
	require.Equal(t, codes.NotFound, code)
	require.Equal(t, "model_not_found", reason)
	_, err = e.client.GetAssistant(e.ctx(t, adminOf("t2")), &inferencev1.GetAssistantRequest{Name: "kb-support"})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = e.client.DeleteAssistant(e.ctx(t, adminOf("t2")), &inferencev1.DeleteAssistantRequest{Name: "kb-support"})
	require.Equal(t, codes.NotFound, status.Code(err))
	list, err := e.client.ListAssistants(e.ctx(t, adminOf("t2")), &inferencev1.ListAssistantsRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetAssistants())

	// A key limited to other models may not use it.
	_, err = e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1", func(p *authv1.Principal) { p.AllowedModels = []string{"echo"} })),
		&inferencev1.ChatCompletionRequest{Body: chatBody("kb-support", "hi", "")})
	require.Equal(t, codes.PermissionDenied, status.Code(err))

	// Managing needs the admin scope.
	_, err = e.client.CreateAssistant(e.ctx(t, principalFor("t1", "k1")), &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{Name: "x", Model: "echo"}})
	require.Equal(t, codes.PermissionDenied, status.Code(err))
	_, err = e.client.ListAssistants(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ListAssistantsRequest{})
	require.Equal(t, codes.PermissionDenied, status.Code(err))

	list, err = e.client.ListAssistants(admin, &inferencev1.ListAssistantsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetAssistants(), 2)
	require.Equal(t, []string{"handbook"}, list.GetAssistants()[1].GetCollections())

	_, err = e.client.DeleteAssistant(admin, &inferencev1.DeleteAssistantRequest{Name: "kb-support"})
	require.NoError(t, err)
	_, err = e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: chatBody("kb-support", "hi", "")})
	require.Equal(t, codes.NotFound, status.Code(err))
}

func TestAssistantBadInput(t *testing.T) {
	e, _ := ragEnv(t)
	admin := e.ctx(t, adminOf("t1"))
	_, err := e.client.CreateAssistant(admin, &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{Name: "dup", Model: "echo"}})
	require.NoError(t, err)
	tests := []struct {
		name  string
		a     *inferencev1.Assistant
		code  codes.Code
		field string
	}{
		{"empty name", &inferencev1.Assistant{Model: "echo"}, codes.InvalidArgument, "assistant.name"},
		{"bad name", &inferencev1.Assistant{Name: "KB Support", Model: "echo"}, codes.InvalidArgument, "assistant.name"},
		{"shadows a model", &inferencev1.Assistant{Name: "echo", Model: "echo"}, codes.InvalidArgument, "assistant.name"},
		{"unknown model", &inferencev1.Assistant{Name: "a", Model: "gpt-9"}, codes.InvalidArgument, "assistant.model"},
		{"no model", &inferencev1.Assistant{Name: "a"}, codes.InvalidArgument, "assistant.model"},
		{"top_k", &inferencev1.Assistant{Name: "a", Model: "echo", TopK: 51}, codes.InvalidArgument, "assistant.top_k"},
		{"bad collection", &inferencev1.Assistant{Name: "a", Model: "echo", Collections: []string{"ok", "Not OK"}}, codes.InvalidArgument, "assistant.collections[1]"},
		{"exists", &inferencev1.Assistant{Name: "dup", Model: "echo"}, codes.AlreadyExists, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.CreateAssistant(admin, &inferencev1.CreateAssistantRequest{Assistant: tt.a})
			require.Equal(t, tt.code, status.Code(err), "%v", err)
			if tt.field != "" {
				require.Equal(t, tt.field, fieldViolation(t, err))
			}
		})
	}
	// An assistant whose collection was deleted since answers 404 naming it.
	e.srv.Ingestion.Add("t1", "gone")
	_, err = e.client.CreateAssistant(admin, &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{Name: "stale", Model: "echo", Collections: []string{"gone"}}})
	require.NoError(t, err)
	e.srv.Ingestion.Remove("t1", "gone")
	_, err = e.client.ChatCompletion(e.ctx(t, principalFor("t1", "k1")), &inferencev1.ChatCompletionRequest{Body: chatBody("stale", "hi?", "")})
	require.Equal(t, codes.NotFound, status.Code(err))
	require.Contains(t, err.Error(), "`gone`")
}

// TestAssistantCollectionsMustExist: creating an assistant checks its
// collections with ingestion in the caller's tenant (taken from the
// verified principal, so another tenant's collection is as missing as an
// unknown one): a missing one is InvalidArgument naming its field, and
// nothing is stored.
func TestAssistantCollectionsMustExist(t *testing.T) {
	e, _ := ragEnv(t)
	admin := e.ctx(t, adminOf("t1"))
	tests := []struct {
		name        string
		collections []string
		field, msg  string
	}{
		{"exists", []string{"handbook"}, "", ""},
		{"none", nil, "", ""},
		{"unknown", []string{"handbook", "handbok"}, "assistant.collections[1]", `collection "handbok" not found`},
		{"another tenant's", []string{"secret"}, "assistant.collections[0]", `collection "secret" not found`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("kb-%d", i)
			_, err := e.client.CreateAssistant(admin, &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
				Name: name, Model: "echo", Collections: tt.collections}})
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
			require.Equal(t, tt.field, fieldViolation(t, err))
			require.Contains(t, status.Convert(err).Message(), tt.msg)
			_, err = e.client.GetAssistant(admin, &inferencev1.GetAssistantRequest{Name: name})
			require.Equal(t, codes.NotFound, status.Code(err), "not stored")
		})
	}
	last, ok := e.srv.Ingestion.LastCall("ListCollections")
	require.True(t, ok)
	require.Equal(t, "t1", last.Principal.GetTenantId(), "the admin's principal is forwarded")

	// Ingestion down: the collections cannot be checked, nothing is stored.
	e.srv.Ingestion.Stop()
	_, err := e.client.CreateAssistant(admin, &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
		Name: "kb-down", Model: "echo", Collections: []string{"handbook"}}})
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	_, err = e.client.CreateAssistant(admin, &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{Name: "kb-plain", Model: "echo"}})
	require.NoError(t, err, "an assistant without collections needs no ingestion")
}

func fieldViolation(t *testing.T, err error) string {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	return ""
}

// TestNamingCollectionsNeedsIngestRead: a chat:write key reaches documents
// only through an assistant its tenant's admins bound to collections; naming
// collections itself (with or without an assistant) needs ingest:read.
func TestNamingCollectionsNeedsIngestRead(t *testing.T) {
	e, _ := ragEnv(t)
	_, err := e.client.CreateAssistant(e.ctx(t, adminOf("t1")), &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
		Name: "kb-support", Model: "rampart-extractive", Collections: []string{"handbook"}}})
	require.NoError(t, err)
	chatOnly := principalFor("t1", "k1", func(p *authv1.Principal) { p.Scopes = []string{"chat:write"} })
	searches := len(e.srv.Ingestion.Searches())

	tests := []struct {
		name  string
		model string
		ext   string
		p     *authv1.Principal
		code  codes.Code
	}{
		{"chat-only key names a collection", "rampart-extractive", `,"rampart":{"collections":["handbook"]}`, chatOnly, codes.PermissionDenied},
		{"chat-only key widens an assistant", "kb-support", `,"rampart":{"collections":["handbook"]}`, chatOnly, codes.PermissionDenied},
		{"chat-only key uses the assistant", "kb-support", "", chatOnly, codes.OK},
		{"ingest:read key names a collection", "rampart-extractive", `,"rampart":{"collections":["handbook"]}`, principalFor("t1", "k1"), codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.ChatCompletion(e.ctx(t, tt.p), &inferencev1.ChatCompletionRequest{
				Body: ragBody(tt.model, tt.ext, "How often do VPN certificates rotate?")})
			if tt.code == codes.OK {
				require.NoError(t, err)
				return
			}
			code, reason, param := errInfo(t, err)
			require.Equal(t, tt.code, code, "%v", err)
			require.Equal(t, "insufficient_scope", reason)
			require.Equal(t, "rampart.collections", param)
		})
	}
	// The refused requests never reached ingestion: only the two allowed ones searched.
	require.Len(t, e.srv.Ingestion.Searches(), searches+2)
}

// TestAssistantWithinThePlatformCeiling (authorization review 2026-12-07):
// a platform ceiling that names an assistant does not let the tenant's
// admins run it on a model outside the ceiling.
func TestAssistantWithinThePlatformCeiling(t *testing.T) {
	e, _ := ragEnv(t)
	_, err := e.client.CreateAssistant(e.ctx(t, adminOf("t1")), &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
		Name: "kb-llm", Model: "gpt-fake", Collections: []string{"handbook"}}})
	require.NoError(t, err)
	for _, tt := range []struct {
		name    string
		ceiling []string
		want    codes.Code
	}{
		{"ceiling names the assistant only", []string{"kb-llm", "echo"}, codes.PermissionDenied},
		{"ceiling holds its model", []string{"kb-llm", "gpt-fake"}, codes.OK},
		{"no ceiling", nil, codes.OK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := principalFor("t1", "k1", func(p *authv1.Principal) {
				p.AllowedModels, p.TenantAllowedModels = tt.ceiling, tt.ceiling
			})
			_, err := e.client.ChatCompletion(e.ctx(t, p), &inferencev1.ChatCompletionRequest{Body: chatBody("kb-llm", "hi", "")})
			require.Equal(t, tt.want, status.Code(err), "%v", err)
			if tt.want != codes.OK {
				_, reason, _ := errInfo(t, err)
				require.Equal(t, "model_not_allowed", reason)
			}
		})
	}
}

// TestAssistantWithinItsCreatorsModels (authorization review 6): an
// assistant runs its model for every key that may name it, so its creator
// may only put it on a model her own key may use. A key allowed only the
// assistant (and holding the admin scope) deleted and recreated it on any
// model the tenant has, and then ran that model through it.
func TestAssistantWithinItsCreatorsModels(t *testing.T) {
	e, _ := ragEnv(t)
	create := func(p *authv1.Principal, name, model string) error {
		_, err := e.client.CreateAssistant(e.ctx(t, p), &inferencev1.CreateAssistantRequest{Assistant: &inferencev1.Assistant{
			Name: name, Model: model, Collections: []string{"handbook"}}})
		return err
	}
	restricted := func(models ...string) *authv1.Principal {
		return principalFor("t1", "k-restricted-admin", func(p *authv1.Principal) { p.Scopes, p.AllowedModels = []string{"admin"}, models })
	}
	require.NoError(t, create(adminOf("t1"), "support-bot", "echo"))

	// The holder of a key for support-bot alone puts it on gpt-fake.
	narrow := restricted("support-bot")
	_, err := e.client.DeleteAssistant(e.ctx(t, narrow), &inferencev1.DeleteAssistantRequest{Name: "support-bot"})
	require.NoError(t, err)
	err = create(narrow, "support-bot", "gpt-fake")
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	_, reason, field := errInfo(t, err)
	require.Equal(t, "model_not_allowed", reason)
	require.Equal(t, "assistant.model", field)
	_, err = e.client.ChatCompletion(e.ctx(t, narrow), &inferencev1.ChatCompletionRequest{Body: chatBody("support-bot", "hi", "")})
	require.Equal(t, codes.NotFound, status.Code(err), "support-bot is gone, not running gpt-fake: %v", err)

	for _, tt := range []struct {
		name   string
		models []string
		model  string
		want   codes.Code
	}{
		{"the key allows the model", []string{"echo"}, "echo", codes.OK},
		{"the key allows other models only", []string{"echo"}, "gpt-fake", codes.PermissionDenied},
		{"the key allows every model", nil, "gpt-fake", codes.OK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := create(restricted(tt.models...), "bot-"+strings.ReplaceAll(tt.model, "-", ""), tt.model)
			require.Equal(t, tt.want, status.Code(err), "%v", err)
		})
	}
}
