package openai

import (
	"encoding/json"
	"net/http"

	inferencev1 "github.com/rampart-platform/rampart/gen/go/rampart/inference/v1"
	"github.com/rampart-platform/rampart/services/edge/internal/httperr"
)

var jsonMarshal = json.Marshal

type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func toJSON(m *inferencev1.Model) modelJSON {
	return modelJSON{ID: m.GetId(), Object: "model", Created: m.GetCreated(), OwnedBy: m.GetOwnedBy()}
}

// ListModels serves GET /v1/models: only models the caller may use.
func (h *Handler) ListModels(w http.ResponseWriter, r *http.Request) {
	ctx, ok := h.outgoing(w, r)
	if !ok {
		return
	}
	resp, err := h.client.ListModels(ctx, &inferencev1.ListModelsRequest{})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := struct {
		Object string      `json:"object"`
		Data   []modelJSON `json:"data"`
	}{Object: "list", Data: make([]modelJSON, 0, len(resp.GetModels()))}
	for _, m := range resp.GetModels() {
		out.Data = append(out.Data, toJSON(m))
	}
	b, err := json.Marshal(out)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, b, nil)
}

// GetModel serves GET /v1/models/{id}.
func (h *Handler) GetModel(w http.ResponseWriter, r *http.Request, id string) {
	ctx, ok := h.outgoing(w, r)
	if !ok {
		return
	}
	if id == "" || len(id) > 256 {
		httperr.Write(w, r, &httperr.Error{Status: http.StatusBadRequest, Code: httperr.CodeInvalidArgument, Param: "model", Message: "invalid model id"})
		return
	}
	resp, err := h.client.GetModel(ctx, &inferencev1.GetModelRequest{Model: id})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	b, err := json.Marshal(toJSON(resp.GetModel()))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, b, nil)
}

// Embeddings serves POST /v1/embeddings.
func (h *Handler) Embeddings(w http.ResponseWriter, r *http.Request) {
	ctx, ok := h.outgoing(w, r)
	if !ok {
		return
	}
	buf, ok := h.readBody(w, r)
	if !ok {
		return
	}
	defer h.putBuf(buf)
	if _, perr := inspect(buf.Bytes()); perr != nil {
		httperr.Write(w, r, perr)
		return
	}
	resp, err := h.client.Embeddings(ctx, &inferencev1.EmbeddingsRequest{Body: buf.Bytes()})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, resp.GetBody(), resp.GetHeaders())
}
