package openai

import (
	"net/http"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

// maxResponseID bounds the id in /v1/responses/{id} (inference checks its
// form and answers 404 for anything it has not stored for the tenant).
const maxResponseID = 128

// GetResponse serves GET /v1/responses/{id}: a stored response of the
// caller's tenant, as inference encoded it.
func (h *Handler) GetResponse(w http.ResponseWriter, r *http.Request, id string) {
	ctx, ok := h.outgoing(w, r)
	if !ok || !validResponseID(w, r, id) {
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
