package inference

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/rampart-platform/rampart/services/inference/internal/apierr"
	"github.com/rampart-platform/rampart/services/inference/internal/promptlog"
	"github.com/rampart-platform/rampart/services/inference/internal/wire"
)

// errStoreUnavailable refuses "store": true where no keyvault is
// configured: a stored response is sealed with the tenant's data key, and
// without one it is not stored at all rather than stored in plaintext.
var errStoreUnavailable = apierr.InvalidCode("unsupported_parameter", "store",
	"store is not available on this deployment: stored responses are encrypted with the tenant's data key, and inference has no keyvault configured")

// maxConversation bounds a chain of previous_response_id: each link adds
// its input and output, and a chain must not grow without limit.
const maxConversation = 4 * wire.MaxInputItems

func previousNotFound(id string) *apierr.Error {
	return &apierr.Error{Kind: apierr.KindNotFound, Type: "invalid_request_error", Code: "previous_response_not_found",
		Param: "previous_response_id", Message: fmt.Sprintf("Previous response with id '%s' not found.", id)}
}

func responseNotFound(id string) *apierr.Error {
	return &apierr.Error{Kind: apierr.KindNotFound, Type: "invalid_request_error", Param: "response_id",
		Message: fmt.Sprintf("Response with id '%s' not found.", id)}
}

// prepareStored checks the request's store and previous_response_id: the
// previous response of the caller's tenant is loaded and its conversation
// prepended to the input. An unknown id and another tenant's are the same
// 404.
func (s *Service) prepareStored(ctx context.Context, c *Caller, req *wire.ResponsesRequest) error {
	if req.StoreRequested() && s.Stored == nil {
		return errStoreUnavailable
	}
	if req.PreviousResponseID == nil {
		return nil
	}
	id := *req.PreviousResponseID
	if s.Stored == nil {
		return previousNotFound(id)
	}
	prev, err := s.Stored.Get(ctx, c.Tenant, id)
	if errors.Is(err, promptlog.ErrResponseNotFound) || err == nil && !mayRead(c, prev.Needs) {
		return previousNotFound(id)
	}
	if err != nil {
		return err
	}
	// With the reasoning items stored with it (ADR 0120 §3): a native
	// upstream gets them back in place; the chat path has no place for them.
	var msgs []wire.StoredMessage
	if err := json.Unmarshal(prev.Input, &msgs); err != nil {
		return fmt.Errorf("stored response: decode conversation: %w", err)
	}
	if len(msgs)+len(req.Conversation()) > maxConversation {
		return apierr.Invalid("previous_response_id", "the conversation of previous_response_id and input together may have at most %d messages", maxConversation)
	}
	req.ContinueStored(msgs)
	c.continued = prev.Needs
	return nil
}

// storeResponse seals and stores resp (already encoded as body) with the
// conversation that led to it, when the client asked to store it. A
// failure fails the call: the client relies on the id for a later
// previous_response_id.
func (s *Service) storeResponse(ctx context.Context, c *Caller, req *wire.ResponsesRequest, resp *wire.Response, body []byte) error {
	if !req.StoreRequested() {
		return nil
	}
	conv, err := json.Marshal(req.StoredConversation(resp.Output))
	if err != nil {
		return fmt.Errorf("stored response: encode conversation: %w", err)
	}
	needs := &promptlog.ReaderNeeds{Search: req.Rampart != nil && len(req.Rampart.Collections) > 0, Models: []string{req.Model}}
	if resp.Model != "" && resp.Model != req.Model {
		needs.Models = append(needs.Models, resp.Model)
	}
	if req.PreviousResponseID != nil {
		// Its conversation is in this one's input: this one needs what it
		// needed (read again: prepareStored checked it before the answer).
		prev, err := s.Stored.Get(ctx, c.Tenant, *req.PreviousResponseID)
		if errors.Is(err, promptlog.ErrResponseNotFound) {
			return previousNotFound(*req.PreviousResponseID)
		}
		if err != nil {
			return err
		}
		needs = needs.Continuing(prev.Needs)
	}
	return s.Stored.Put(ctx, c.Tenant, resp.ID, s.now(), promptlog.StoredResponse{Input: conv, Response: body, Needs: needs})
}

// mayRead reports whether c could have made the request that stored r
// (ADR 0088): a stored answer is the tenant's (OpenAI's project
// semantics), but one grounded in collections only for keys that may
// search, and any only for keys allowed one of its models. A response
// stored before ADR 0088 records nothing and stays readable.
func mayRead(c *Caller, n *promptlog.ReaderNeeds) bool {
	if n == nil {
		return true
	}
	if n.Search && !c.CanSearch {
		return false
	}
	if len(c.AllowedModels) == 0 {
		return true
	}
	allowed := func(models []string) bool {
		return slices.ContainsFunc(models, func(m string) bool { return slices.Contains(c.AllowedModels, m) })
	}
	// this request's models and each earlier link's (ReaderNeeds.Earlier)
	return allowed(n.Models) && !slices.ContainsFunc(n.Earlier, func(set []string) bool { return !allowed(set) })
}

// StoredResponse returns the caller's tenant's stored response id (the
// response object JSON); 404 for an unknown id and another tenant's.
func (s *Service) StoredResponse(ctx context.Context, c *Caller, id string) ([]byte, error) {
	r, err := s.stored(ctx, c, id)
	if err != nil {
		return nil, err
	}
	return r.Response, nil
}

// stored opens the caller's tenant's stored response id; 404 for an
// unknown id, another tenant's and one the caller may not read (mayRead).
func (s *Service) stored(ctx context.Context, c *Caller, id string) (promptlog.StoredResponse, error) {
	if s.Stored == nil || !wire.ValidResponseID(id) {
		return promptlog.StoredResponse{}, responseNotFound(id)
	}
	r, err := s.Stored.Get(ctx, c.Tenant, id)
	if errors.Is(err, promptlog.ErrResponseNotFound) || err == nil && !mayRead(c, r.Needs) {
		// one the caller could not have asked is as missing as another
		// tenant's
		return promptlog.StoredResponse{}, responseNotFound(id)
	}
	return r, err
}

// maxInputItemsPage bounds limit, as at OpenAI.
const maxInputItemsPage = 100

// ResponseInputItems returns one page of the input items of the caller's
// tenant's stored response id, as OpenAI's list object: the conversation
// that led to the response (a previous response's included, which is the
// context the model saw), without the response's own output. order is
// "desc" (the default, as at OpenAI) or "asc"; after names an item of the
// list to continue after.
func (s *Service) ResponseInputItems(ctx context.Context, c *Caller, id, after string, limit int, order string) ([]byte, error) {
	switch order {
	case "":
		order = "desc"
	case "asc", "desc":
	default:
		return nil, apierr.Invalid("order", "order must be \"asc\" or \"desc\"")
	}
	switch {
	case limit == 0:
		limit = 20
	case limit < 1 || limit > maxInputItemsPage:
		return nil, apierr.Invalid("limit", "limit must be between 1 and %d", maxInputItemsPage)
	}
	r, err := s.stored(ctx, c, id)
	if err != nil {
		return nil, err
	}
	var conv []wire.Message
	if err := json.Unmarshal(r.Input, &conv); err != nil {
		return nil, fmt.Errorf("stored response: decode conversation: %w", err)
	}
	var resp struct {
		Output []json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(r.Response, &resp); err != nil {
		return nil, fmt.Errorf("stored response: decode response: %w", err)
	}
	// As sent, so its reasoning items count as they did when it was stored.
	output, err := wire.NativeItems(resp.Output)
	if err != nil {
		return nil, fmt.Errorf("stored response: decode response: %w", err)
	}
	// The stored conversation ends with the response's output.
	conv = conv[:max(len(conv)-len(wire.OutputMessages(output)), 0)]
	items, err := wire.InputItems(id, conv)
	if err != nil {
		return nil, err
	}
	if order == "desc" {
		slices.Reverse(items)
	}
	start := 0
	if after != "" {
		i := slices.IndexFunc(items, func(it wire.InputItem) bool { return it.ID == after })
		if i < 0 {
			return nil, apierr.Invalid("after", "after must be the id of an item of this list")
		}
		start = i + 1
	}
	end := min(start+limit, len(items))
	page := struct {
		Object  string           `json:"object"`
		Data    []wire.InputItem `json:"data"`
		FirstID *string          `json:"first_id"`
		LastID  *string          `json:"last_id"`
		HasMore bool             `json:"has_more"`
	}{Object: "list", Data: items[start:end], HasMore: end < len(items)}
	if len(page.Data) > 0 {
		page.FirstID, page.LastID = &page.Data[0].ID, &page.Data[len(page.Data)-1].ID
	}
	b, err := json.Marshal(page)
	if err != nil {
		return nil, fmt.Errorf("encode input items: %w", err)
	}
	return b, nil
}

// CancelStoredResponse answers POST /v1/responses/{id}/cancel. Only
// background responses can be cancelled, and Rampart runs none
// ("background": true is refused), so a stored response of the caller's
// tenant gets OpenAI's 400 for a response that was not created in the
// background; an unknown id and another tenant's are 404. It always
// returns an error until background responses exist.
func (s *Service) CancelStoredResponse(ctx context.Context, c *Caller, id string) error {
	if _, err := s.stored(ctx, c, id); err != nil {
		return err
	}
	return apierr.Invalid("", "Cannot cancel a synchronous response.")
}

// DeleteStoredResponse deletes the caller's tenant's stored response id and
// returns OpenAI's deletion object; 404 for an unknown id and another
// tenant's.
func (s *Service) DeleteStoredResponse(ctx context.Context, c *Caller, id string) ([]byte, error) {
	// one the caller may not read is not theirs to delete either
	if _, err := s.stored(ctx, c, id); err != nil {
		return nil, err
	}
	err := s.Stored.Delete(ctx, c.Tenant, id)
	if errors.Is(err, promptlog.ErrResponseNotFound) {
		return nil, responseNotFound(id)
	}
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Deleted bool   `json:"deleted"`
	}{id, "response", true})
	if err != nil {
		return nil, fmt.Errorf("encode deletion: %w", err)
	}
	return b, nil
}
