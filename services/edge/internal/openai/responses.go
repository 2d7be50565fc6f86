package openai

import (
	"net/http"
	"strconv"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

// maxResponseID bounds the id in /v1/responses/{id} (inference checks its
// form and answers 404 for anything it has not stored for the tenant).
const maxResponseID = 128

// GetResponse serves GET /v1/responses/{id}: a stored response of the
// caller's tenant, as inference encoded it. stream=true is refused: OpenAI
// streams only a background response again, Rampart runs none, and an SDK
// would read the JSON body as a stream of no events (ADR 0096).
func (h *Handler) GetResponse(w http.ResponseWriter, r *http.Request, id string) {
	ctx, ok := h.outgoing(w, r)
	if !ok || !validResponseID(w, r, id) {
		return
	}
	if v := r.URL.Query().Get("stream"); v != "" && v != "false" {
		httperr.Write(w, r, &httperr.Error{Status: http.StatusBadRequest, Code: "unsupported_parameter", Param: "stream",
			Message: "stream is supported only for responses created with background=true, which Rampart does not run; retrieve the stored response without stream"})
		return
	}
	resp, err := h.client.GetResponse(ctx, &inferencev1.GetResponseRequest{Id: id})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, resp.GetBody(), nil)
}

// DeleteResponse serves DELETE /v1/responses/{id}.
func (h *Handler) DeleteResponse(w http.ResponseWriter, r *http.Request, id string) {
	ctx, ok := h.outgoing(w, r)
	if !ok || !validResponseID(w, r, id) {
		return
	}
	resp, err := h.client.DeleteResponse(ctx, &inferencev1.DeleteResponseRequest{Id: id})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, resp.GetBody(), nil)
}

func validResponseID(w http.ResponseWriter, r *http.Request, id string) bool {
	if id == "" || len(id) > maxResponseID {
		httperr.Write(w, r, &httperr.Error{Status: http.StatusBadRequest, Code: httperr.CodeInvalidArgument, Param: "response_id", Message: "invalid response id"})
		return false
	}
	return true
}

// maxItemsQuery bounds the after and order query parameters.
const maxItemsQuery = 256

// ListInputItems serves GET /v1/responses/{id}/input_items (after, limit,
// order as at OpenAI; inference checks their values).
func (h *Handler) ListInputItems(w http.ResponseWriter, r *http.Request, id string) {
	ctx, ok := h.outgoing(w, r)
	if !ok || !validResponseID(w, r, id) {
		return
	}
	q := r.URL.Query()
	req := &inferencev1.ListResponseInputItemsRequest{Id: id, After: q.Get("after"), Order: q.Get("order")}
	if len(req.After) > maxItemsQuery || len(req.Order) > maxItemsQuery {
		httperr.Write(w, r, &httperr.Error{Status: http.StatusBadRequest, Code: httperr.CodeInvalidArgument, Param: "after", Message: "after and order must be at most 256 bytes"})
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.ParseInt(l, 10, 32)
		if err != nil || n < 1 {
			httperr.Write(w, r, &httperr.Error{Status: http.StatusBadRequest, Code: httperr.CodeInvalidArgument, Param: "limit", Message: "limit must be an integer between 1 and 100"})
			return
		}
		req.Limit = int32(n)
	}
	resp, err := h.client.ListResponseInputItems(ctx, req)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, resp.GetBody(), nil)
}

// CancelResponse serves POST /v1/responses/{id}/cancel: Rampart runs no
// background responses, so inference answers 404 or OpenAI's 400 for a
// response that was not created in the background.
func (h *Handler) CancelResponse(w http.ResponseWriter, r *http.Request, id string) {
	ctx, ok := h.outgoing(w, r)
	if !ok || !validResponseID(w, r, id) {
		return
	}
	resp, err := h.client.CancelResponse(ctx, &inferencev1.CancelResponseRequest{Id: id})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, resp.GetBody(), nil)
}
