package grpctest

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
)

// ListServices asks the server reflection service behind conn for the
// services it serves, as `grpcurl list` does. A refused call's status is
// the error.
func ListServices(ctx context.Context, conn grpc.ClientConnInterface) ([]string, error) {
	st, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	// A refused stream fails Send with io.EOF; Recv returns its status.
	resp, err := st.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}
