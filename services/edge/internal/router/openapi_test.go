package router

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rampart-platform/rampart/gen"
)

func TestPublicSpec(t *testing.T) {
	out, err := PublicSpec(gen.OpenAPI)
	require.NoError(t, err)
	var doc struct {
		Info struct {
			Title string `json:"title"`
		} `json:"info"`
		Paths               map[string]any `json:"paths"`
		SecurityDefinitions map[string]any `json:"securityDefinitions"`
	}
	require.NoError(t, json.Unmarshal(out, &doc))
	require.Equal(t, "Rampart API", doc.Info.Title)
	require.Contains(t, doc.Paths, "/v1/whoami")
	require.Contains(t, doc.SecurityDefinitions, "bearer")

	_, err = PublicSpec([]byte("not json"))
	require.Error(t, err)
}
