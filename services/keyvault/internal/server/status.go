package server

import "google.golang.org/grpc/status"

func statusMessage(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return "error"
}
