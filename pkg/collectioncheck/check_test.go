package collectioncheck_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/rampart-platform/rampart/pkg/collectioncheck"
	"github.com/rampart-platform/rampart/pkg/grpcerr"
)

func TestCheck(t *testing.T) {
	have := func(names ...string) collectioncheck.Lister {
		return func(context.Context) ([]string, error) { return names, nil }
	}
	failing := func(err error) collectioncheck.Lister {
		return func(context.Context) ([]string, error) { return nil, err }
	}
	cases := []struct {
		name      string
		names     []string
		params    []string
		list      collectioncheck.Lister
		wantParam string
		wantIs    error
		wantCode  codes.Code
	}{
		{name: "none named, not listed", list: failing(errors.New("must not be called"))},
		{name: "all exist", names: []string{"a", "b"}, list: have("b", "a", "c")},
		{name: "second missing", names: []string{"a", "x"}, list: have("a"), wantParam: "collections[1]"},
		{name: "param names it", names: []string{"x"}, params: []string{"assistant.collections[0]"}, list: have(), wantParam: "assistant.collections[0]"},
		{name: "ingestion down", names: []string{"a"}, list: failing(status.Error(codes.Unavailable, "down")), wantIs: grpcerr.ErrUnavailable},
		{name: "cancelled stays cancelled", names: []string{"a"}, list: failing(status.Error(codes.Canceled, "gone")), wantCode: codes.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := collectioncheck.Check(context.Background(), tc.names, tc.params, tc.list)
			switch {
			case tc.wantParam != "":
				var inv *grpcerr.InvalidError
				require.ErrorAs(t, err, &inv)
				require.Equal(t, tc.wantParam, inv.Field)
				require.Contains(t, inv.Msg, "not found (create it first: POST /v1/collections)")
			case tc.wantIs != nil:
				require.ErrorIs(t, err, tc.wantIs)
			case tc.wantCode != codes.OK:
				require.Equal(t, tc.wantCode, status.Code(err))
			default:
				require.NoError(t, err)
			}
		})
	}
}
