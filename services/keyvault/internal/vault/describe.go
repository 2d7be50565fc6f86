package vault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/rampart-platform/rampart/services/keyvault/internal/audit"
	"github.com/rampart-platform/rampart/services/keyvault/internal/policy"
	"github.com/rampart-platform/rampart/services/keyvault/internal/rotation"
	"github.com/rampart-platform/rampart/services/keyvault/internal/store"
)

// Rotation status values (match the proto enum).
const (
	RotationDisabled   = 1
	RotationScheduled  = 2
	RotationInProgress = 3
	RotationFailed     = 4
	RotationOverdue    = 5
)

// VersionInfo describes a version.
type VersionInfo struct {
	VersionID string
	Stages    []string
	CreatedAt time.Time
}

// Metadata is a secret without its value.
type Metadata struct {
	store.Secret
	Tags           []Tag
	Versions       []VersionInfo // labelled versions (all in ListSecretVersionIds)
	VersionCount   int
	Function       *rotation.Config
	RotationStatus int
}

func (s *Service) metadata(ctx context.Context, tx *store.Tx, sec store.Secret, allVersions bool) (Metadata, error) {
	m := Metadata{Secret: sec}
	var err error
	if m.Tags, err = tx.Tags(ctx, sec.TenantID, sec.ID); err != nil {
		return m, internal(err)
	}
	vs, err := tx.Versions(ctx, sec.TenantID, sec.ID)
	if err != nil {
		return m, internal(err)
	}
	stages, err := tx.Stages(ctx, sec.TenantID, sec.ID)
	if err != nil {
		return m, internal(err)
	}
	byVersion := map[string][]string{}
	for st, v := range stages {
		byVersion[v] = append(byVersion[v], st)
	}
	m.VersionCount = len(vs)
	for _, v := range vs {
		labels := byVersion[v.VersionID]
		slices.Sort(labels)
		if len(labels) > 0 || allVersions {
			m.Versions = append(m.Versions, VersionInfo{VersionID: v.VersionID, Stages: labels, CreatedAt: v.CreatedAt})
		}
	}
	if sec.RotationFunction != "" {
		var c rotation.Config
		if json.Unmarshal([]byte(sec.RotationFunction), &c) == nil {
			m.Function = &c
		}
	}
	m.RotationStatus = s.rotationStatus(sec)
	return m, nil
}

func (s *Service) rotationStatus(sec store.Secret) int {
	switch {
	case sec.RotationVersionID != "":
		return RotationInProgress
	case sec.RotationError != "":
		return RotationFailed
	case !sec.RotationEnabled:
		return RotationDisabled
	case !sec.NextRotationAt.IsZero() && sec.NextRotationAt.Before(s.now().Add(-time.Hour)):
		return RotationOverdue
	default:
		return RotationScheduled
	}
}

// DaysUntilRotation returns whole days to the next rotation (negative when
// overdue); ok is false when none is scheduled.
func (s *Service) DaysUntilRotation(m Metadata) (int32, bool) {
	if !m.RotationEnabled || m.NextRotationAt.IsZero() {
		return 0, false
	}
	d := m.NextRotationAt.Sub(s.now()).Hours() / 24
	return int32(math.Floor(d)), true
}

// DescribeSecret returns a secret's metadata.
func (s *Service) DescribeSecret(ctx context.Context, a Actor, name string) (Metadata, error) {
	name, err := s.authorizeName(ctx, a, policy.ActionDescribe, name)
	if err != nil {
		return Metadata{}, err
	}
	rd := s.o.Store.Read()
	sec, err := s.secretFor(ctx, rd, a, policy.ActionDescribe, name)
	if err == nil {
		var m Metadata
		if m, err = s.metadata(ctx, rd, sec, false); err == nil {
			return m, s.record(ctx, a, audit.Record{Action: "DescribeSecret", Name: name, Result: audit.ResultOK})
		}
	}
	return Metadata{}, s.auditFailure(ctx, a, "DescribeSecret", name, err)
}

// ListInput filters ListSecrets.
type ListInput struct {
	NamePrefix, TagKey, TagValue string
	PageSize                     int
	PageToken                    string
	IncludeDeleted               bool
}

// ListSecrets lists the tenant's secrets the caller may describe.
func (s *Service) ListSecrets(ctx context.Context, a Actor, in ListInput) ([]Metadata, string, error) {
	if in.PageSize < 0 || in.PageSize > 100 {
		return nil, "", invalid("page_size", "must be 0-100")
	}
	if in.PageSize == 0 {
		in.PageSize = 50
	}
	after := ""
	if in.PageToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.PageToken)
		if err != nil {
			return nil, "", invalid("page_token", "malformed")
		}
		after = string(b)
	}
	if in.NamePrefix != "" && in.NamePrefix[0] != '/' {
		in.NamePrefix = "/" + in.NamePrefix
	}
	if a.Tenant == "" {
		return nil, "", &Error{Kind: KindPermissionDenied, Msg: "no principal"}
	}
	rd := s.o.Store.Read()
	var out []Metadata
	next := ""
	for len(out) < in.PageSize {
		rows, err := rd.ListSecrets(ctx, a.Tenant, store.ListFilter{
			NamePrefix: in.NamePrefix, TagKey: in.TagKey, TagValue: in.TagValue, AfterName: after,
			Limit: in.PageSize + 1, IncludeDeleted: in.IncludeDeleted,
		})
		if err != nil {
			return nil, "", internal(err)
		}
		for _, r := range rows {
			after = r.Name
			if !s.o.Policy.Allowed(policy.Request{Caller: a.Caller, Roles: a.Roles, Scopes: a.Scopes, Name: r.Name, Action: policy.ActionDescribe}) {
				continue
			}
			if len(out) == in.PageSize {
				next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].Name))
				break
			}
			m, err := s.metadata(ctx, rd, r, false)
			if err != nil {
				return nil, "", err
			}
			out = append(out, m)
		}
		if next != "" || len(rows) <= in.PageSize {
			break
		}
	}
	if err := s.record(ctx, a, audit.Record{Action: "ListSecrets", Name: in.NamePrefix, Result: audit.ResultOK}); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// ListSecretVersionIds lists versions, newest first.
func (s *Service) ListSecretVersionIds(ctx context.Context, a Actor, name string, includeDeprecated bool, pageSize int, pageToken string) ([]VersionInfo, string, error) {
	name, err := s.authorizeName(ctx, a, policy.ActionDescribe, name)
	if err != nil {
		return nil, "", err
	}
	if pageSize < 0 || pageSize > 100 {
		return nil, "", invalid("page_size", "must be 0-100")
	}
	if pageSize == 0 {
		pageSize = 50
	}
	rd := s.o.Store.Read()
	sec, err := s.secretFor(ctx, rd, a, policy.ActionDescribe, name)
	if err != nil {
		return nil, "", s.auditFailure(ctx, a, "ListSecretVersionIds", name, err)
	}
	m, err := s.metadata(ctx, rd, sec, true)
	if err != nil {
		return nil, "", err
	}
	vs := m.Versions
	if !includeDeprecated {
		vs = slices.DeleteFunc(vs, func(v VersionInfo) bool { return len(v.Stages) == 0 })
	}
	start := 0
	if pageToken != "" {
		start = slices.IndexFunc(vs, func(v VersionInfo) bool { return v.VersionID == pageToken })
		if start < 0 {
			return nil, "", invalid("page_token", "unknown")
		}
	}
	end := min(start+pageSize, len(vs))
	next := ""
	if end < len(vs) {
		next = vs[end].VersionID
	}
	if err := s.record(ctx, a, audit.Record{Action: "ListSecretVersionIds", Name: name, Result: audit.ResultOK}); err != nil {
		return nil, "", err
	}
	return vs[start:end], next, nil
}

// Observe returns metadata of every secret of the tenant the caller may
// describe (the observability endpoint). Never values.
func (s *Service) Observe(ctx context.Context, a Actor, prefix string) ([]Metadata, error) {
	var out []Metadata
	token := ""
	for {
		page, next, err := s.ListSecrets(ctx, a, ListInput{NamePrefix: prefix, PageSize: 100, PageToken: token, IncludeDeleted: true})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" || len(out) >= 10000 {
			return out, nil
		}
		token = next
	}
}
