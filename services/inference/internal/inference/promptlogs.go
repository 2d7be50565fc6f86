package inference

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
	"github.com/rampart-platform/rampart/services/inference/internal/registry"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// logPrompt stores the call's request and response when the tenant has
// prompt logging on. Failures are logged (never the content) and do not
// fail the call, whose answer is already computed (or streamed).
func (s *Service) logPrompt(ctx context.Context, c *Caller, m *registry.Model, endpoint string, request, response []byte) {
	if !s.Prompts.Enabled(c.Tenant) {
		return
	}
	id := c.RequestID
	if id == "" {
		id = newID("req_")
	}
	var needs *promptlog.ReaderNeeds // nil: Record derives them from request
	if c.continued != nil {
		needs = promptlog.NeedsOf(request, m.ID).Continuing(c.continued)
	}
	err := s.Prompts.Record(ctx, promptlog.Entry{Tenant: c.Tenant, RequestID: id, Key: c.Key, Model: m.ID, Endpoint: endpoint,
		Request: request, Response: response, At: s.now(), Needs: needs})
	if err != nil {
		s.Metrics.promptLogFailed()
		s.Log.LogAttrs(ctx, slog.LevelError, "prompt log not stored", slog.String("tenant_id", c.Tenant),
			slog.String("request_id", id), slog.String("model", m.ID), slog.String("error", err.Error()))
	}
}

// streamedCompletion is the assembled completion of a stream, as logged.
func streamedCompletion(id string, created int64, model, content string, calls []wire.ToolCall, finish string, u *wire.Usage) []byte {
	msg := wire.ResponseMessage{Role: "assistant", ToolCalls: calls}
	if content != "" || len(calls) == 0 {
		msg.Content = &content
	}
	b, _ := json.Marshal(&wire.ChatCompletion{ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: []wire.Choice{{Message: msg, Logprobs: wire.NullRaw, FinishReason: finish}}, Usage: u})
	return b
}

// PromptLogPage is one page of a tenant's prompt logs.
type PromptLogPage struct {
	Entries       []promptlog.Entry
	NextPageToken string
}

// maxPromptLogPage bounds page_size.
const maxPromptLogPage = 100

// PromptLogs lists the caller's tenant's prompt logs, newest first.
func (s *Service) PromptLogs(ctx context.Context, c *Caller, fromS, toS string, pageSize int32, pageToken string) (*PromptLogPage, error) {
	to := s.now().UTC().Add(time.Millisecond)
	var err error
	if toS != "" {
		if to, err = parseTime(toS, true); err != nil {
			return nil, apierr.Invalid("to", "to must be an RFC 3339 time or a YYYY-MM-DD date")
		}
	}
	from := to.Add(-24 * time.Hour)
	if fromS != "" {
		if from, err = parseTime(fromS, false); err != nil {
			return nil, apierr.Invalid("from", "from must be an RFC 3339 time or a YYYY-MM-DD date")
		}
	}
	if !from.Before(to) {
		return nil, apierr.Invalid("from", "from must be before to")
	}
	switch {
	case pageSize == 0:
		pageSize = 20
	case pageSize < 0 || pageSize > maxPromptLogPage:
		return nil, apierr.Invalid("page_size", "page_size must be between 1 and %d", maxPromptLogPage)
	}
	var before int64
	if pageToken != "" {
		if before, err = strconv.ParseInt(pageToken, 10, 64); err != nil || before <= 0 {
			return nil, apierr.Invalid("page_token", "page_token is not one this API returned")
		}
	}
	if s.Prompts == nil {
		return &PromptLogPage{}, nil
	}
	entries, next, err := s.Prompts.List(ctx, c.Tenant, from, to, before, int(pageSize))
	if errors.Is(err, promptlog.ErrNotFound) {
		return &PromptLogPage{}, nil // the tenant never logged anything
	}
	if err != nil {
		return nil, err
	}
	// ADR 0097 §2: only the entries the caller could have asked, as for
	// stored responses (mayRead); a page may hold fewer than page_size.
	p := &PromptLogPage{Entries: slices.DeleteFunc(entries, func(e promptlog.Entry) bool { return !mayRead(c, e.Needs) })}
	if next > 0 {
		p.NextPageToken = strconv.FormatInt(next, 10)
	}
	return p, nil
}

// PromptLog returns one of the caller's tenant's prompt logs; another
// tenant's is NotFound, exactly like one that does not exist.
func (s *Service) PromptLog(ctx context.Context, c *Caller, requestID string) (promptlog.Entry, error) {
	if requestID == "" || len(requestID) > 128 {
		return promptlog.Entry{}, apierr.Invalid("request_id", "request_id must be 1-128 characters")
	}
	notFound := &apierr.Error{Kind: apierr.KindNotFound, Type: "invalid_request_error", Code: "not_found", Param: "request_id",
		Message: "No prompt log with this request id."}
	if s.Prompts == nil {
		return promptlog.Entry{}, notFound
	}
	e, err := s.Prompts.Get(ctx, c.Tenant, requestID)
	if errors.Is(err, promptlog.ErrNotFound) || err == nil && !mayRead(c, e.Needs) {
		// one the caller could not have asked is as missing as another
		// tenant's (ADR 0097 §2)
		return promptlog.Entry{}, notFound
	}
	return e, err
}
