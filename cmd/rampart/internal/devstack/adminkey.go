package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/rampart-platform/rampart/gen/go/rampart/auth/v1"
	"github.com/rampart-platform/rampart/pkg/mtls"
	"github.com/rampart-platform/rampart/pkg/pki"
)

// `rampart dev` and `rampart dev --ha` may share a data dir (pki/, bin/,
// logs/), but not an auth store: the plain stack's is SQLite in
// <data-dir>/auth, the --ha stack's PostgreSQL in <data-dir>/postgres. Each
// has a platform tenant and owner key of its own, so each kind of stack
// records its key in a file of its own (stackEnvFile) and dev.env is a copy
// of the one started last, for tools and tests. A recorded key is trusted
// only once the running edge accepts it (ADR 0044).

// bootstrapSubject owns the bootstrap tenant's first key.
const bootstrapSubject = "admin@rampart.local"

// stackEnvFile is the dev.env of one kind of stack: it keeps that stack's
// admin key when the other kind overwrites dev.env.
func stackEnvFile(dataDir string, ha bool) string {
	if ha {
		return filepath.Join(dataDir, "dev.ha.env")
	}
	return filepath.Join(dataDir, "dev.sqlite.env")
}

// adminKey is the owner key dev.env publishes; note, when set, says why it
// is not the recorded one.
type adminKey struct {
	key, tenant, note string
}

// recorded is an admin key found in a dev.env-style file.
type recorded struct {
	path, key, tenant string
}

// bootstrap creates the first tenant and owner key in a fresh auth store.
// In one that has them it reuses a recorded key the edge at edgeURL
// accepts: this kind of stack's own record first, then dev.env. When none
// is accepted (revoked, expired, or the other kind of stack's), a recorded
// tenant that exists in this store gets a new owner key (RecoverOwner,
// audited by auth); otherwise it fails saying what to remove.
func bootstrap(ctx context.Context, auth *service, cli *mtls.Source, edgeURL, dataDir string, ha bool) (adminKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, err := mtls.Dial(ctx, auth.listenAddr, cli, pki.ServiceID("auth"))
	if err != nil {
		return adminKey{}, err
	}
	defer conn.Close()
	client := authv1.NewAuthServiceClient(conn)
	resp, err := client.Bootstrap(ctx, &authv1.BootstrapRequest{TenantName: "platform", OwnerSubject: bootstrapSubject})
	if err == nil {
		return adminKey{key: resp.GetApiKey(), tenant: resp.GetTenantId()}, nil
	}
	if status.Code(err) != codes.AlreadyExists {
		return adminKey{}, fmt.Errorf("bootstrap tenant: %w", err)
	}
	records := recordedKeys(stackEnvFile(dataDir, ha), filepath.Join(dataDir, "dev.env"))
	for _, r := range records {
		tenant, ok, err := whoami(ctx, edgeURL, r.key)
		if err != nil {
			return adminKey{}, err
		}
		if ok {
			return adminKey{key: r.key, tenant: tenant}, nil
		}
	}
	for _, r := range records {
		if r.tenant == "" {
			continue
		}
		rec, err := client.RecoverOwner(ctx, &authv1.RecoverOwnerRequest{TenantId: r.tenant, Subject: bootstrapSubject})
		switch status.Code(err) {
		case codes.OK:
			return adminKey{key: rec.GetApiKey(), tenant: rec.GetTenantId(), note: fmt.Sprintf(
				"the admin key in %s is not accepted (revoked or expired); tenant %s has a new owner key (RecoverOwner, in its audit chain)",
				r.path, r.tenant)}, nil
		case codes.NotFound, codes.FailedPrecondition:
			// The other kind of stack's tenant, or a deleted one.
		default:
			return adminKey{}, fmt.Errorf("recover the owner of tenant %s: %w", r.tenant, err)
		}
	}
	return adminKey{}, noKeyError(dataDir, ha)
}

// recordedKeys reads the admin key and tenant of each file that has them,
// skipping a key already listed.
func recordedKeys(paths ...string) []recorded {
	var out []recorded
	seen := map[string]bool{}
	for _, p := range paths {
		env, err := readDevEnv(p)
		if err != nil || env["RAMPART_ADMIN_KEY"] == "" || seen[env["RAMPART_ADMIN_KEY"]] {
			continue
		}
		seen[env["RAMPART_ADMIN_KEY"]] = true
		out = append(out, recorded{path: p, key: env["RAMPART_ADMIN_KEY"], tenant: env["RAMPART_TENANT_ID"]})
	}
	return out
}

// whoami asks the edge whose key this is: accepted with its tenant, or not
// accepted (401/403). Anything else is an error: a key is never replaced
// because the edge had a bad moment. Errors never carry the key.
func whoami(ctx context.Context, edgeURL, key string) (tenant string, accepted bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, edgeURL+"/v1/whoami", nil)
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false, fmt.Errorf("check the recorded admin key: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var who struct {
			TenantID string `json:"tenant_id"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&who); err != nil {
			return "", false, fmt.Errorf("check the recorded admin key: whoami: %w", err)
		}
		return who.TenantID, true, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return "", false, nil
	default:
		return "", false, fmt.Errorf("check the recorded admin key: GET /v1/whoami: %s", resp.Status)
	}
}

// noKeyError says what to remove when the auth store has its tenant but no
// recorded key of it is left (a data dir from before the per-stack records,
// whose dev.env the other kind of stack overwrote).
func noKeyError(dataDir string, ha bool) error {
	store, remove, other := "SQLite store", filepath.Join(dataDir, "auth"), "rampart dev --ha"
	if ha {
		store, remove, other = "PostgreSQL", filepath.Join(dataDir, "postgres"), "rampart dev"
	}
	return fmt.Errorf("auth's %s already has the bootstrap tenant, but no admin key it accepts is recorded in %s or %s "+
		"(dev.env was probably last written by `%s`, whose auth store is a different one); "+
		"remove %s to start this stack with a new tenant and key",
		store, stackEnvFile(dataDir, ha), filepath.Join(dataDir, "dev.env"), other, remove)
}
