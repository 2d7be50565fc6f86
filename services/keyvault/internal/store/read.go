package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// readValueSQL answers a whole GetSecretValue in one statement: the secret
// columns a read uses, the selected version (by id, else by stage) and that
// version's labels. The version columns are NULL when no version matches.
// Fewer columns is less work per read in the driver (each one is fetched,
// converted and scanned).
const readValueSQL = `SELECT s.id, s.arn, s.content_type, s.deleted_at, s.owner,
 v.version_id, v.seq, v.created_at, v.is_binary, v.dek_id, v.ciphertext,
 (SELECT group_concat(st.stage, ',') FROM version_stages st WHERE st.secret_id = s.id AND st.version_id = v.version_id)
FROM secrets s
LEFT JOIN secret_versions v ON v.secret_id = s.id AND v.tenant_id = s.tenant_id AND v.version_id =
 CASE WHEN ?1 <> '' THEN ?1 ELSE (SELECT x.version_id FROM version_stages x WHERE x.secret_id = s.id AND x.stage = ?2) END
WHERE s.tenant_id = ?3 AND s.name = ?4`

// readValueSQLPostgres is readValueSQL for PostgreSQL: $n parameters and
// string_agg for group_concat.
var readValueSQLPostgres = strings.NewReplacer("?1", "$1", "?2", "$2", "?3", "$3", "?4", "$4",
	"group_concat(st.stage, ',')", "string_agg(st.stage, ',')").Replace(readValueSQL)

// ValueRead is the result of ReadValue. Secret holds what a read needs:
// ID, TenantID, Name, ARN, ContentType, DeletedAt and Owner.
type ValueRead struct {
	Secret  Secret
	Version Version // VersionID empty when no version matched
	Labels  []string
}

// ReadValue reads the tenant's secret called name with the version
// versionID (or, when empty, the version labelled stage) in one prepared
// query, or from the read cache on SQLite (readCache). ErrNotFound means
// no such secret; a missing version leaves Version.VersionID empty.
func (s *Store) ReadValue(ctx context.Context, tenant, name, versionID, stage string) (ValueRead, error) {
	k := readKey{tenant: tenant, name: name, versionID: versionID, stage: stage}
	if v, ok := s.cache.get(k); ok {
		return v, nil
	}
	g := s.cache.generation()
	v, err := s.readValueDB(ctx, tenant, name, versionID, stage)
	if err != nil {
		return v, err
	}
	s.cache.put(k, g, v)
	return v, nil
}

func (s *Store) readValueDB(ctx context.Context, tenant, name, versionID, stage string) (ValueRead, error) {
	var (
		sec              = Secret{TenantID: tenant, Name: name}
		deleted          int64
		vid, dek, labels sql.NullString
		seq, created     sql.NullInt64
		bin              sql.NullInt64
		ct               []byte
	)
	err := s.readValue.QueryRowContext(ctx, versionID, stage, tenant, name).Scan(&sec.ID, &sec.ARN, &sec.ContentType, &deleted, &sec.Owner,
		&vid, &seq, &created, &bin, &dek, &ct, &labels)
	if errors.Is(err, sql.ErrNoRows) {
		return ValueRead{}, ErrNotFound
	}
	if err != nil {
		return ValueRead{}, fmt.Errorf("store: read value: %w", err)
	}
	sec.DeletedAt = fromNanos(deleted)
	out := ValueRead{Secret: sec}
	if vid.Valid {
		out.Version = Version{TenantID: tenant, SecretID: sec.ID, VersionID: vid.String, Seq: seq.Int64, CreatedAt: fromNanos(created.Int64),
			Binary: bin.Int64 != 0, DEKID: dek.String, Ciphertext: ct}
		if labels.String != "" {
			out.Labels = strings.Split(labels.String, ",")
			slices.Sort(out.Labels)
		}
	}
	return out, nil
}
