package mtls

import (
	"context"
	"errors"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/rampart-platform/rampart/pkg/pki"
)

// ErrNoPeerID is returned by PeerID when the call did not arrive over a
// verified mTLS connection with a SPIFFE ID.
var ErrNoPeerID = errors.New("mtls: no verified peer SPIFFE ID")

// ServerCredentials returns gRPC server transport credentials for src.
func ServerCredentials(src *Source) credentials.TransportCredentials {
	return credentials.NewTLS(ServerTLSConfig(src))
}

// ClientCredentials returns gRPC client transport credentials for src that
// accept only the server expectedServerID.
func ClientCredentials(src *Source, expectedServerID string) credentials.TransportCredentials {
	return credentials.NewTLS(ClientTLSConfig(src, expectedServerID))
}

// Dial returns a client connection to target over mTLS, accepting only the
// server serverID. Like grpc.NewClient it does not connect until the first
// call; ctx is checked so a cancelled caller does not create a connection.
func Dial(ctx context.Context, target string, src *Source, serverID string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	if _, err := pki.ParseID(serverID); err != nil {
		return nil, fmt.Errorf("dial %s: server %w", target, err)
	}
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(ClientCredentials(src, serverID))}, opts...)
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	return conn, nil
}

// PeerID returns the SPIFFE ID of the caller of the current server call, read
// from the certificate chain the TLS stack verified.
func PeerID(ctx context.Context) (spiffeid.ID, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return spiffeid.ID{}, ErrNoPeerID
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return spiffeid.ID{}, ErrNoPeerID
	}
	chains := info.State.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		return spiffeid.ID{}, ErrNoPeerID
	}
	id, err := peerIDs.id(chains[0][0])
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("%w: %w", ErrNoPeerID, err)
	}
	return id, nil
}
