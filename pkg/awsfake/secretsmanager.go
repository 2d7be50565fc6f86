package awsfake

import (
	"bytes"
	"encoding/base64"
	"slices"
	"sort"
	"strings"
	"time"
)

const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
)

type version struct {
	id      string
	str     *string
	bin     []byte
	stages  []string
	created time.Time
}

type secret struct {
	name, arn, description, kmsKeyID string
	created, changed, accessed       time.Time
	deleted                          time.Time
	tags                             map[string]string
	versions                         map[string]*version
	order                            []string // version ids, oldest first
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type smValue struct {
	ClientRequestToken string `json:"ClientRequestToken"`
	SecretString       *string
	SecretBinary       []byte
}

func init() {
	register("secretsmanager.CreateSecret", (*Fake).smCreate)
	register("secretsmanager.GetSecretValue", (*Fake).smGet)
	register("secretsmanager.PutSecretValue", (*Fake).smPut)
	register("secretsmanager.DescribeSecret", (*Fake).smDescribe)
	register("secretsmanager.UpdateSecret", (*Fake).smUpdate)
	register("secretsmanager.DeleteSecret", (*Fake).smDelete)
	register("secretsmanager.RestoreSecret", (*Fake).smRestore)
	register("secretsmanager.UpdateSecretVersionStage", (*Fake).smUpdateStage)
	register("secretsmanager.ListSecretVersionIds", (*Fake).smListVersions)
	register("secretsmanager.ListSecrets", (*Fake).smList)
	register("secretsmanager.TagResource", (*Fake).smTag)
	register("secretsmanager.UntagResource", (*Fake).smUntag)
}

func (f *Fake) lookup(id string) (*secret, *apiError) {
	if id == "" {
		return nil, invalidParam("SecretId is required")
	}
	if s, ok := f.secrets[id]; ok {
		return s, nil
	}
	for _, s := range f.secrets {
		if s.arn == id {
			return s, nil
		}
	}
	return nil, notFound("Secrets Manager can't find the specified secret.")
}

func (f *Fake) live(id string) (*secret, *apiError) {
	s, err := f.lookup(id)
	if err != nil {
		return nil, err
	}
	if !s.deleted.IsZero() {
		return nil, invalidRequest("You can't perform this operation on the secret because it was marked for deletion.")
	}
	return s, nil
}

func validValue(str *string, bin []byte) *apiError {
	if str != nil && bin != nil {
		return invalidParam("You can't specify both a binary secret value and a string secret value in the same secret.")
	}
	if (str != nil && len(*str) > 65536) || len(bin) > 65536 {
		return invalidParam("secret value exceeds 65536 bytes")
	}
	return nil
}

func sameValue(v *version, str *string, bin []byte) bool {
	if (v.str == nil) != (str == nil) {
		return false
	}
	if str != nil {
		return *v.str == *str
	}
	return bytes.Equal(v.bin, bin)
}

// addVersion stores a version (or finds the idempotent one) and attaches
// stages, moving AWSCURRENT/AWSPREVIOUS like Secrets Manager.
func (f *Fake) addVersion(s *secret, token string, str *string, bin []byte, stages []string) (*version, *apiError) {
	if token != "" {
		if len(token) < 32 || len(token) > 64 {
			return nil, invalidParam("ClientRequestToken must be 32-64 characters")
		}
		if v, ok := s.versions[token]; ok {
			if !sameValue(v, str, bin) {
				return nil, errorf(400, "ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
			}
			return v, nil
		}
	} else {
		token = f.newID()
	}
	if len(stages) == 0 {
		stages = []string{stageCurrent}
	}
	now := f.Now().UTC()
	v := &version{id: token, str: str, bin: bin, created: now}
	s.versions[token] = v
	s.order = append(s.order, token)
	for _, st := range stages {
		f.moveStage(s, st, token)
	}
	s.changed = now
	f.prune(s)
	return v, nil
}

func (f *Fake) moveStage(s *secret, stage, to string) {
	var from string
	for id, v := range s.versions {
		if i := slices.Index(v.stages, stage); i >= 0 {
			from = id
			v.stages = slices.Delete(v.stages, i, i+1)
		}
	}
	if to != "" {
		s.versions[to].stages = append(s.versions[to].stages, stage)
	}
	if stage == stageCurrent && from != "" && from != to {
		f.moveStage(s, stagePrevious, from)
	}
}

// prune drops unlabelled versions beyond 100, oldest first.
func (f *Fake) prune(s *secret) {
	for len(s.order) > 100 {
		dropped := false
		for i, id := range s.order {
			if len(s.versions[id].stages) == 0 {
				delete(s.versions, id)
				s.order = slices.Delete(s.order, i, i+1)
				dropped = true
				break
			}
		}
		if !dropped {
			return
		}
	}
}

func (f *Fake) smCreate(body []byte) (any, *apiError) {
	var in struct {
		smValue
		Name        string `json:"Name"`
		Description string `json:"Description"`
		KmsKeyID    string `json:"KmsKeyId"`
		Tags        []tag  `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Name == "" || len(in.Name) > 512 {
		return nil, invalidParam("Name must be 1-512 characters")
	}
	if err := validValue(in.SecretString, in.SecretBinary); err != nil {
		return nil, err
	}
	if s, ok := f.secrets[in.Name]; ok {
		if !s.deleted.IsZero() {
			return nil, invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.")
		}
		if in.ClientRequestToken != "" {
			if v, ok := s.versions[in.ClientRequestToken]; ok && sameValue(v, in.SecretString, in.SecretBinary) {
				return map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": v.id}, nil
			}
		}
		return nil, errorf(400, "ResourceExistsException", "The operation failed because the secret %s already exists.", in.Name)
	}
	now := f.Now().UTC()
	s := &secret{name: in.Name, arn: "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + in.Name + "-" + f.newID()[:6],
		description: in.Description, kmsKeyID: in.KmsKeyID, created: now, changed: now, tags: map[string]string{}, versions: map[string]*version{}}
	for _, t := range in.Tags {
		s.tags[t.Key] = t.Value
	}
	out := map[string]any{"ARN": s.arn, "Name": s.name}
	if in.SecretString != nil || in.SecretBinary != nil {
		v, err := f.addVersion(s, in.ClientRequestToken, in.SecretString, in.SecretBinary, nil)
		if err != nil {
			return nil, err
		}
		out["VersionId"] = v.id
	}
	f.secrets[in.Name] = s
	return out, nil
}

func (f *Fake) smGet(body []byte) (any, *apiError) {
	var in struct {
		SecretID     string `json:"SecretId"`
		VersionID    string `json:"VersionId"`
		VersionStage string `json:"VersionStage"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s, err := f.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	var v *version
	switch {
	case in.VersionID != "":
		v = s.versions[in.VersionID]
		if v != nil && in.VersionStage != "" && !slices.Contains(v.stages, in.VersionStage) {
			return nil, invalidParam("The staging label %s is not attached to version %s", in.VersionStage, in.VersionID)
		}
	default:
		stage := in.VersionStage
		if stage == "" {
			stage = stageCurrent
		}
		for _, id := range s.order {
			if slices.Contains(s.versions[id].stages, stage) {
				v = s.versions[id]
			}
		}
	}
	if v == nil {
		return nil, notFound("Secrets Manager can't find the specified secret value for staging label: %s", in.VersionStage)
	}
	s.accessed = f.Now().UTC().Truncate(24 * time.Hour)
	out := map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": v.id, "VersionStages": sorted(v.stages), "CreatedDate": epoch(v.created)}
	if v.str != nil {
		out["SecretString"] = *v.str
	} else {
		out["SecretBinary"] = base64.StdEncoding.EncodeToString(v.bin)
	}
	return out, nil
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func (f *Fake) smPut(body []byte) (any, *apiError) {
	var in struct {
		smValue
		SecretID      string   `json:"SecretId"`
		VersionStages []string `json:"VersionStages"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s, err := f.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	if in.SecretString == nil && in.SecretBinary == nil {
		return nil, invalidParam("You must provide either SecretString or SecretBinary.")
	}
	if err := validValue(in.SecretString, in.SecretBinary); err != nil {
		return nil, err
	}
	v, err := f.addVersion(s, in.ClientRequestToken, in.SecretString, in.SecretBinary, in.VersionStages)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ARN": s.arn, "Name": s.name, "VersionId": v.id, "VersionStages": sorted(v.stages)}, nil
}

func (f *Fake) describe(s *secret) map[string]any {
	stages := map[string][]string{}
	for id, v := range s.versions {
		stages[id] = sorted(v.stages)
	}
	tags := []tag{}
	for k, v := range s.tags {
		tags = append(tags, tag{k, v})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	out := map[string]any{"ARN": s.arn, "Name": s.name, "Description": s.description, "CreatedDate": epoch(s.created),
		"LastChangedDate": epoch(s.changed), "VersionIdsToStages": stages, "Tags": tags}
	if s.kmsKeyID != "" {
		out["KmsKeyId"] = s.kmsKeyID
	}
	if !s.accessed.IsZero() {
		out["LastAccessedDate"] = epoch(s.accessed)
	}
	if !s.deleted.IsZero() {
		out["DeletedDate"] = epoch(s.deleted)
	}
	return out
}

func (f *Fake) smDescribe(body []byte) (any, *apiError) {
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s, err := f.lookup(in.SecretID)
	if err != nil {
		return nil, err
	}
	return f.describe(s), nil
}

func (f *Fake) smUpdate(body []byte) (any, *apiError) {
	var in struct {
		smValue
		SecretID    string  `json:"SecretId"`
		Description *string `json:"Description"`
		KmsKeyID    *string `json:"KmsKeyId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s, err := f.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	if err := validValue(in.SecretString, in.SecretBinary); err != nil {
		return nil, err
	}
	if in.Description != nil {
		s.description = *in.Description
	}
	if in.KmsKeyID != nil {
		s.kmsKeyID = *in.KmsKeyID
	}
	s.changed = f.Now().UTC()
	out := map[string]any{"ARN": s.arn, "Name": s.name}
	if in.SecretString != nil || in.SecretBinary != nil {
		v, err := f.addVersion(s, in.ClientRequestToken, in.SecretString, in.SecretBinary, nil)
		if err != nil {
			return nil, err
		}
		out["VersionId"] = v.id
	}
	return out, nil
}

func (f *Fake) smDelete(body []byte) (any, *apiError) {
	var in struct {
		SecretID                   string `json:"SecretId"`
		RecoveryWindowInDays       *int64 `json:"RecoveryWindowInDays"`
		ForceDeleteWithoutRecovery bool   `json:"ForceDeleteWithoutRecovery"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s, err := f.lookup(in.SecretID)
	if err != nil {
		return nil, err
	}
	if in.ForceDeleteWithoutRecovery && in.RecoveryWindowInDays != nil {
		return nil, invalidParam("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	now := f.Now().UTC()
	if in.ForceDeleteWithoutRecovery {
		delete(f.secrets, s.name)
		return map[string]any{"ARN": s.arn, "Name": s.name, "DeletionDate": epoch(now)}, nil
	}
	days := int64(30)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
	}
	if days < 7 || days > 30 {
		return nil, invalidParam("RecoveryWindowInDays must be 7-30")
	}
	if !s.deleted.IsZero() {
		return nil, invalidRequest("You can't perform this operation on the secret because it was already scheduled for deletion.")
	}
	s.deleted = now.Add(time.Duration(days) * 24 * time.Hour)
	return map[string]any{"ARN": s.arn, "Name": s.name, "DeletionDate": epoch(s.deleted)}, nil
}

func (f *Fake) smRestore(body []byte) (any, *apiError) {
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s, err := f.lookup(in.SecretID)
	if err != nil {
		return nil, err
	}
	s.deleted = time.Time{}
	return map[string]any{"ARN": s.arn, "Name": s.name}, nil
}

func (f *Fake) smUpdateStage(body []byte) (any, *apiError) {
	var in struct {
		SecretID            string `json:"SecretId"`
		VersionStage        string `json:"VersionStage"`
		MoveToVersionID     string `json:"MoveToVersionId"`
		RemoveFromVersionID string `json:"RemoveFromVersionId"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s, err := f.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	if in.VersionStage == "" {
		return nil, invalidParam("VersionStage is required")
	}
	var cur string
	for id, v := range s.versions {
		if slices.Contains(v.stages, in.VersionStage) {
			cur = id
		}
	}
	for _, id := range []string{in.MoveToVersionID, in.RemoveFromVersionID} {
		if id != "" && s.versions[id] == nil {
			return nil, notFound("Secrets Manager can't find the specified version %s", id)
		}
	}
	if in.RemoveFromVersionID != "" && in.RemoveFromVersionID != cur {
		return nil, invalidParam("The staging label %s is currently not attached to version %s", in.VersionStage, in.RemoveFromVersionID)
	}
	if in.MoveToVersionID == "" {
		if in.VersionStage == stageCurrent {
			return nil, invalidParam("You can only move AWSCURRENT to another version; it can't be removed.")
		}
		f.moveStage(s, in.VersionStage, "")
	} else {
		if cur != "" && cur != in.MoveToVersionID && in.RemoveFromVersionID == "" {
			return nil, invalidParam("The staging label %s is currently attached to version %s; specify RemoveFromVersionId to move it", in.VersionStage, cur)
		}
		if cur != in.MoveToVersionID {
			f.moveStage(s, in.VersionStage, in.MoveToVersionID)
		}
	}
	s.changed = f.Now().UTC()
	return map[string]any{"ARN": s.arn, "Name": s.name}, nil
}

func (f *Fake) smListVersions(body []byte) (any, *apiError) {
	var in struct {
		SecretID          string `json:"SecretId"`
		IncludeDeprecated bool   `json:"IncludeDeprecated"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s, err := f.lookup(in.SecretID)
	if err != nil {
		return nil, err
	}
	vs := []map[string]any{}
	for i := len(s.order) - 1; i >= 0; i-- {
		v := s.versions[s.order[i]]
		if len(v.stages) == 0 && !in.IncludeDeprecated {
			continue
		}
		vs = append(vs, map[string]any{"VersionId": v.id, "VersionStages": sorted(v.stages), "CreatedDate": epoch(v.created)})
	}
	return map[string]any{"ARN": s.arn, "Name": s.name, "Versions": vs}, nil
}

func (f *Fake) smList(body []byte) (any, *apiError) {
	var in struct {
		Filters []struct {
			Key    string   `json:"Key"`
			Values []string `json:"Values"`
		} `json:"Filters"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(f.secrets))
	for n := range f.secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	list := []map[string]any{}
	for _, n := range names {
		ok := true
		for _, flt := range in.Filters {
			if flt.Key == "name" && !slices.ContainsFunc(flt.Values, func(p string) bool { return strings.HasPrefix(n, p) }) {
				ok = false
			}
		}
		if ok {
			e := f.describe(f.secrets[n])
			// ListSecrets names the version map differently from
			// DescribeSecret, as AWS does.
			e["SecretVersionsToStages"] = e["VersionIdsToStages"]
			delete(e, "VersionIdsToStages")
			list = append(list, e)
		}
	}
	return map[string]any{"SecretList": list}, nil
}

func (f *Fake) smTag(body []byte) (any, *apiError) {
	var in struct {
		SecretID string `json:"SecretId"`
		Tags     []tag  `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s, err := f.lookup(in.SecretID)
	if err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		s.tags[t.Key] = t.Value
	}
	return map[string]any{}, nil
}

func (f *Fake) smUntag(body []byte) (any, *apiError) {
	var in struct {
		SecretID string   `json:"SecretId"`
		TagKeys  []string `json:"TagKeys"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s, err := f.lookup(in.SecretID)
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(s.tags, k)
	}
	return map[string]any{}, nil
}
