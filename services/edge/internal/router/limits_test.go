package router

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIsDocumentUpload(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/v1/collections/handbook/documents", true},
		{"/v1/collections//documents", false},
		{"/v1/collections/handbook/documents/x", false},
		{"/v1/collections/handbook", false},
		{"/v1/keys", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, isDocumentUpload(tt.path), tt.path)
	}
}
