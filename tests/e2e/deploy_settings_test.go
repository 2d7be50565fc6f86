package e2e

// Every setting a service reads, against what the deploy artifacts set: the
// settings come from the service binaries themselves (`<svc> -h` prints
// every environment variable its pkg/config struct loads), so a setting
// added to the code fails here until deploySettings says where it is set
// (docker-compose.yml, the Kubernetes base, the AWS overlay) or why its
// default is right for a deployment; an artifact that sets a variable no
// service reads (a renamed or removed setting) fails too.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/rampart-platform/rampart/pkg/config"
	"github.com/rampart-platform/rampart/pkg/secrets/refs"
	"github.com/rampart-platform/rampart/pkg/telemetry"
)

// placement says where a setting is set: in docker-compose.yml, in the
// Kubernetes base (and so in every overlay), only in the AWS overlay. Zero
// means no artifact sets it: its default is right for every deployment, or
// it is an option docs/deploy.md describes.
type placement uint8

const (
	inCompose placement = 1 << iota
	inK8s
	inAWS
	// everywhere: docker-compose.yml and every Kubernetes build.
	everywhere = inCompose | inK8s
)

type deploySetting struct {
	at  placement
	why string // for settings left at their default: why that is right
}

// deploySettings classifies every setting of every service. Keys are
// environment variable names; RAMPART_*_X stands for the setting X of each
// service that has it (RAMPART_<SVC>_X). "svc:NAME" overrides both for one
// service.
var deploySettings = map[string]deploySetting{
	// pkg/config.Common, every service.
	"RAMPART_PROFILE":         {at: everywhere},
	"RAMPART_DATA_DIR":        {at: everywhere},
	"RAMPART_CERT_DIR":        {at: everywhere},
	"RAMPART_*_LISTEN_ADDR":   {at: everywhere},
	"RAMPART_*_ADMIN_ADDR":    {at: everywhere},
	"RAMPART_*_DATA_DIR":      {at: everywhere},
	"RAMPART_*_LOG_LEVEL":     {at: everywhere},
	"RAMPART_*_AUTHZ_POLICY":  {why: "the embedded allow-list is the permission table (pkg/permissions)"},
	"RAMPART_GRPC_REFLECTION": {why: "off in the prod profile; reflection lists every RPC to any mTLS peer"},
	"RAMPART_PPROF":           {why: "dev profile only"},
	// The backends' addresses (the edge, inference, keyvault and
	// slackadapter load them; pkg/backend's dialer reads them in every
	// service).
	"RAMPART_AUTH_ADDR":         {at: everywhere},
	"RAMPART_KEYVAULT_ADDR":     {at: everywhere},
	"RAMPART_INFERENCE_ADDR":    {at: everywhere},
	"RAMPART_INGESTION_ADDR":    {at: everywhere},
	"RAMPART_SLACKADAPTER_ADDR": {at: everywhere},
	// PostgreSQL: the replicas share it on Kubernetes; compose runs one
	// replica of each on SQLite in its volume.
	"RAMPART_*_DATABASE_URL":         {at: inK8s},
	"RAMPART_*_DB_MAX_CONNS":         {why: "16 per replica; raise with the replica count and the server's max_connections in mind"},
	"RAMPART_*_DB_STATEMENT_TIMEOUT": {why: "30s"},
	"RAMPART_REDIS_URL":              {at: inK8s},
	"RAMPART_REDIS_CLUSTER_URL":      {why: "instead of RAMPART_REDIS_URL for a Redis Cluster (docs/deploy.md)"},
	"RAMPART_*_AWS_ENDPOINT":         {why: "the SDK finds the regional endpoint, private DNS of interface VPC endpoints included"},

	// auth
	"RAMPART_AUTH_SIGNING_KEK_FILE":     {at: inK8s},
	"RAMPART_AUTH_KEY_DEFAULT_TTL":      {why: "90 days; tenants choose per key within KEY_MAX_TTL"},
	"RAMPART_AUTH_KEY_MAX_TTL":          {why: "one year"},
	"RAMPART_AUTH_ROTATION_OVERLAP":     {why: "14 days"},
	"RAMPART_AUTH_TENANT_GRACE":         {why: "7 days before a deleted tenant is purged"},
	"RAMPART_AUTH_SIGNING_KEY_ROTATION": {why: "30 days"},
	"RAMPART_AUTH_SWEEP_INTERVAL":       {why: "internal"},

	// edge
	"RAMPART_HTTP_ADDR":                   {at: everywhere},
	"RAMPART_EDGE_TLS_CERT":               {why: "TLS ends at the NLB (AWS) or a proxy in front of compose (docs/deploy.md)"},
	"RAMPART_EDGE_TLS_KEY":                {why: "with TLS_CERT"},
	"RAMPART_EDGE_CORS_ORIGINS":           {why: "CORS off unless a browser front end needs it"},
	"RAMPART_EDGE_TRUSTED_PROXIES":        {at: inAWS},
	"RAMPART_EDGE_ACCESS_LOG_SAMPLE":      {why: "every request logged"},
	"RAMPART_EDGE_ACCESS_LOG_ROUTES":      {why: "no per-route sampling"},
	"RAMPART_EDGE_KEY_CACHE_TTL":          {why: "the revocation stream evicts sooner"},
	"RAMPART_EDGE_KEY_CACHE_SIZE":         {why: "10000 keys per replica"},
	"RAMPART_EDGE_DEFAULT_KEY_RPM":        {why: "defaults; tenant limits (auth) narrow them per tenant and key"},
	"RAMPART_EDGE_DEFAULT_TENANT_RPM":     {why: "as DEFAULT_KEY_RPM"},
	"RAMPART_EDGE_MAX_STREAMS_PER_KEY":    {why: "as DEFAULT_KEY_RPM"},
	"RAMPART_EDGE_MAX_STREAMS_PER_TENANT": {why: "default; the platform admin's limits.platform_max_concurrent_streams replaces it per tenant"},
	"RAMPART_EDGE_READ_HEADER_TIMEOUT":    {why: "10s"},
	"RAMPART_EDGE_READ_TIMEOUT":           {why: "60s"},
	"RAMPART_EDGE_IDLE_TIMEOUT":           {why: "120s"},
	"RAMPART_EDGE_REQUEST_TIMEOUT":        {why: "60s; API Gateway buffers non-streamed routes within 29s anyway"},
	"RAMPART_EDGE_STREAM_TIMEOUT":         {why: "15m, API Gateway's streaming limit"},
	"RAMPART_EDGE_DRAIN_DELAY":            {why: "1s"},
	"RAMPART_EDGE_SHUTDOWN_TIMEOUT":       {why: "20s, within the pods' 30s termination grace"},

	// inference
	"RAMPART_INFERENCE_MODELS":                 {at: inAWS}, // the Bedrock registry; elsewhere the offline models
	"RAMPART_INFERENCE_TOOL_POLICY":            {why: "default deny: no tool may be offered"},
	"RAMPART_INFERENCE_USAGE_DSN":              {why: "deprecated alias of DATABASE_URL: never set"},
	"RAMPART_INFERENCE_SECRETS_CACHE_TTL":      {why: "5m"},
	"RAMPART_INFERENCE_USAGE_RAW_RETENTION":    {why: "7 days"},
	"RAMPART_INFERENCE_USAGE_HOURLY_RETENTION": {why: "90 days"},
	"RAMPART_INFERENCE_PROMPT_LOG_RETENTION":   {why: "30 days"},
	"RAMPART_INFERENCE_RETENTION_INTERVAL":     {why: "10m"},

	// ingestion
	"RAMPART_INGESTION_WORKERS":             {why: "2 per replica; the HPA adds replicas"},
	"RAMPART_INGESTION_EMBED_DIMS":          {why: "must match the embedding model; the default is the offline one's"},
	"RAMPART_INGESTION_CHUNK_TOKENS":        {why: "300"},
	"RAMPART_INGESTION_CHUNK_OVERLAP":       {why: "50"},
	"RAMPART_INGESTION_FETCH_ALLOW_PRIVATE": {why: "dev profile only; never in a deployment"},
	"RAMPART_INGESTION_CRAWL_MAX_PAGES":     {why: "200"},
	"RAMPART_INGESTION_FETCH_TIMEOUT":       {why: "30s"},
	"RAMPART_INGESTION_EMBED_RETRY_DELAY":   {why: "1m"},
	"RAMPART_INGESTION_KEY_TTL":             {why: "10m; the shred stream evicts sooner"},
	"RAMPART_INGESTION_KEY_CACHE":           {why: "4096"},
	"RAMPART_INGESTION_VECTOR_CACHE":        {why: "256"},
	"RAMPART_INGESTION_JOB_LEASE":           {why: "2m"},
	"RAMPART_INGESTION_REPLICA":             {at: inK8s},
	"RAMPART_INGESTION_RECHUNK_CONCURRENCY": {why: "1 per replica after a chunker upgrade (ADR 0127); 0 turns re-chunking off"},
	"RAMPART_INGESTION_ANN_THRESHOLD":       {why: "100000 chunks before the ANN index"},

	// keyvault
	"RAMPART_KEYVAULT_ENV":                {at: inK8s},
	"RAMPART_KEYVAULT_SECRETS_POLICY":     {why: "the embedded policy (ADR 0015)"},
	"RAMPART_KEYVAULT_KEY_DIR":            {at: inK8s},
	"RAMPART_KEYVAULT_AUDIT_LOG":          {why: "in the data dir; PostgreSQL keeps the chain on Kubernetes"},
	"RAMPART_KEYVAULT_AUDIT_FSYNC":        {at: inK8s},
	"RAMPART_KEYVAULT_AUDIT_RETENTION":    {why: "keep audit links until an archive is configured"},
	"RAMPART_KEYVAULT_AUDIT_ARCHIVE":      {why: "with AUDIT_RETENTION"},
	"RAMPART_KEYVAULT_PRINCIPAL_KEYS":     {why: "auth's published signing keys are fetched over mTLS"},
	"RAMPART_KEYVAULT_WEBHOOK_ALLOW":      {why: "no rotation webhooks unless allowed"},
	"RAMPART_KEYVAULT_MAX_VERSIONS":       {why: "100"},
	"RAMPART_KEYVAULT_SCHEDULER_INTERVAL": {why: "1m"},
	"RAMPART_KEYVAULT_BACKEND":            {at: inK8s},
	"RAMPART_KEYVAULT_KMS":                {at: inK8s},
	"RAMPART_KEYVAULT_KMS_ALIAS_PREFIX":   {at: inAWS},
	"RAMPART_KEYVAULT_AWS_REGION":         {at: inAWS},
	"RAMPART_KEYVAULT_TENANT_EVENTS":      {why: "on"},

	// slackadapter
	"RAMPART_SLACKADAPTER_KEK_FILE":               {at: inK8s},
	"RAMPART_SLACKADAPTER_ENV":                    {at: inK8s},
	"RAMPART_SLACKADAPTER_MODEL":                  {why: "the offline extractive model; name a registry model with RAMPART_INFERENCE_MODELS"},
	"RAMPART_SLACKADAPTER_SLACK_API_URL":          {why: "Slack's; tests point it at a fake"},
	"RAMPART_SLACKADAPTER_SLACK_AUTHORIZE_URL":    {why: "Slack's"},
	"RAMPART_SLACKADAPTER_PUBLIC_URL":             {at: everywhere},
	"RAMPART_SLACKADAPTER_BOT_SCOPES":             {why: "the scopes docs/slack-setup.md lists"},
	"RAMPART_SLACKADAPTER_RESPONSE_URL_HOSTS":     {why: "hooks.slack.com"},
	"RAMPART_SLACKADAPTER_STREAM_UPDATE_INTERVAL": {why: "1s"},
	"RAMPART_SLACKADAPTER_WORKERS":                {why: "8"},
	"RAMPART_SLACKADAPTER_QUEUE_SIZE":             {why: "1024"},
	"RAMPART_SLACKADAPTER_DEDUPE_TTL":             {why: "1h, Slack's retry window"},
	"RAMPART_SLACKADAPTER_STATE_TTL":              {why: "10m"},
	"RAMPART_SLACKADAPTER_REFRESH_BEFORE":         {why: "15m"},
	"RAMPART_SLACKADAPTER_MAX_RETRIES":            {why: "3"},
	"RAMPART_SLACKADAPTER_MAX_RETRY_AFTER":        {why: "30s"},
	// The Slack app from AWS (ADR 0126): references only, on AWS; compose
	// and the plain base take the app from `rampart slack app set`.
	"RAMPART_SLACK_CLIENT_ID":                     {at: inAWS},
	"RAMPART_SLACK_CLIENT_SECRET":                 {at: inAWS},
	"RAMPART_SLACK_SIGNING_SECRET":                {at: inAWS},
	"RAMPART_SLACKADAPTER_SLACK_SECRETS_REFRESH":  {why: "5m"},
	"RAMPART_SLACKADAPTER_SIGNING_SECRET_OVERLAP": {why: "1h"},
	"RAMPART_SLACKADAPTER_AWS_REGION":             {at: inAWS},
}

// deployExtraEnv are variables the artifacts may set that are not pkg/config
// settings: the Go runtime's and the ones pkg/backend and pkg/telemetry read
// with os.Getenv.
func deployExtraEnv(name string) bool {
	switch name {
	case "GOMEMLIMIT", "GOMAXPROCS", "GOGC", telemetry.EnvExporter:
		return true
	}
	for _, svc := range config.Services() {
		if name == config.Prefix(svc)+"ADDR" { // pkg/backend.dial
			return true
		}
	}
	return false
}

var (
	settingsOnce sync.Once
	settingsErr  error
	settingsBy   map[string][]string // service -> its environment variables
	// "-flag type  (env NAME)" or "NAME type  (environment only)"
	usageEnvRE  = regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*)\)$`)
	usageOnlyRE = regexp.MustCompile(`^  ([A-Z][A-Z0-9_]*)\b.*\(environment only\)$`)
)

// serviceSettings runs every service binary with -h and returns the
// environment variables its usage lists.
func serviceSettings(t *testing.T) map[string][]string {
	t.Helper()
	settingsOnce.Do(func() {
		bin, err := buildBinaries()
		if err != nil {
			settingsErr = err
			return
		}
		settingsBy = map[string][]string{}
		for _, svc := range config.Services() {
			cmd := exec.Command(filepath.Join(bin, svc), "-h") //nolint:gosec // G204: the harness's own binaries
			cmd.Env = []string{}
			out, err := cmd.Output()
			if err != nil {
				settingsErr = err
				return
			}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				line := sc.Text()
				if m := usageEnvRE.FindStringSubmatch(line); m != nil {
					settingsBy[svc] = append(settingsBy[svc], m[1])
				} else if m := usageOnlyRE.FindStringSubmatch(line); m != nil {
					settingsBy[svc] = append(settingsBy[svc], m[1])
				}
			}
		}
	})
	require.NoError(t, settingsErr)
	return settingsBy
}

// settingKey is the deploySettings entry for svc's setting env, "" if none.
func settingKey(svc, env string) string {
	for _, k := range []string{svc + ":" + env, env, strings.Replace(env, config.Prefix(svc), "RAMPART_*_", 1)} {
		if _, ok := deploySettings[k]; ok {
			return k
		}
	}
	return ""
}

// deployEnvs is what each artifact sets per service (the variable names,
// and the literal values).
type deployEnvs map[string]map[string]string

func composeEnvs(t *testing.T) deployEnvs {
	p := loadCompose(t)
	out := deployEnvs{}
	for _, svc := range config.Services() {
		s, ok := p.Services[svc]
		require.True(t, ok, "compose service %s", svc)
		out[svc] = map[string]string{}
		for k, v := range s.Environment {
			out[svc][k] = ""
			if v != nil {
				out[svc][k] = *v
			}
		}
	}
	return out
}

func k8sEnvs(t *testing.T, dir string) deployEnvs {
	m := kustomizeBuild(t, dir)
	out := deployEnvs{}
	add := func(svc string, c corev1.Container) {
		if out[svc] == nil {
			out[svc] = map[string]string{}
		}
		for _, e := range c.Env {
			out[svc][e.Name] = e.Value
		}
	}
	for _, svc := range config.Services() {
		for _, c := range m.deployment(t, svc).Spec.Template.Spec.Containers {
			add(svc, c)
		}
	}
	// The migration Job's containers are named after their service.
	for _, j := range m.Jobs {
		for _, c := range j.Spec.Template.Spec.Containers {
			require.Contains(t, config.Services(), c.Name, "migration container named after its service")
			envs := map[string]string{}
			for _, e := range c.Env {
				envs[e.Name] = e.Value
			}
			for k := range envs {
				require.True(t, deployExtraEnv(k) || slices.Contains(serviceSettings(t)[c.Name], k),
					"migrate/%s sets %s, which %s does not read", c.Name, k, c.Name)
			}
		}
	}
	return out
}

func TestDeploySettingsMatchTheCode(t *testing.T) {
	t.Parallel()
	settings := serviceSettings(t)
	require.Len(t, settings, len(config.Services()))
	for svc, s := range settings {
		require.NotEmpty(t, s, "%s -h lists its settings", svc)
	}
	artifacts := []struct {
		name string
		envs deployEnvs
		want func(placement) bool
	}{
		{"docker-compose.yml", composeEnvs(t), func(p placement) bool { return p&inCompose != 0 }},
		{"deploy/k8s/base", k8sEnvs(t, k8sBase), func(p placement) bool { return p&inK8s != 0 }},
		{"deploy/k8s/overlays/aws", k8sEnvs(t, k8sAWSOverlay), func(p placement) bool { return p&(inK8s|inAWS) != 0 }},
	}

	used := map[string]bool{}
	for _, svc := range config.Services() {
		for _, env := range settings[svc] {
			k := settingKey(svc, env)
			if k == "" {
				t.Errorf("%s reads %s, which deploySettings does not place: set it in the deploy artifacts (and docs/deploy.md) or say why its default is right", svc, env)
				continue
			}
			used[k] = true
			s := deploySettings[k]
			for _, a := range artifacts {
				_, set := a.envs[svc][env]
				if want := a.want(s.at); set != want {
					t.Errorf("%s: %s %s (deploySettings: set=%v)", a.name, svc, map[bool]string{true: "sets " + env, false: "does not set " + env}[set], want)
				}
			}
			if s.at == 0 {
				require.NotEmpty(t, s.why, "%s: a setting left at its default says why", k)
			}
		}
		// Nothing an artifact sets is unknown to the service.
		for _, a := range artifacts {
			for env := range a.envs[svc] {
				if !deployExtraEnv(env) && !slices.Contains(settings[svc], env) {
					t.Errorf("%s: %s sets %s, which %s does not read (renamed or removed?)", a.name, svc, env, svc)
				}
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(deploySettings)) {
		if !used[k] {
			t.Errorf("deploySettings names %s, which no service reads any more", k)
		}
	}

	// The secret names slackadapter asks keyvault for (/{env}/slackadapter/…)
	// must carry the environment keyvault and its IAM role are confined to.
	for _, a := range artifacts {
		kv, sa := a.envs["keyvault"]["RAMPART_KEYVAULT_ENV"], a.envs["slackadapter"]["RAMPART_SLACKADAPTER_ENV"]
		require.Equal(t, kv, sa, "%s: keyvault's and slackadapter's ENV agree", a.name)
		if prefix, ok := a.envs["keyvault"]["RAMPART_KEYVAULT_KMS_ALIAS_PREFIX"]; ok {
			require.Equal(t, "alias/rampart-"+kv+"-tenant-", prefix, "%s: the tenant key aliases are this environment's", a.name)
		}
		// The Slack app's secrets only as references, under the names the
		// slackadapter role may read (deploy/aws/rampart.yaml).
		for _, k := range []string{"RAMPART_SLACK_CLIENT_SECRET", "RAMPART_SLACK_SIGNING_SECRET", "RAMPART_SLACK_CLIENT_ID"} {
			v, ok := a.envs["slackadapter"][k]
			if !ok {
				continue
			}
			r, err := refs.Parse(v)
			require.NoError(t, err, "%s: %s is a {{resolve:...}} reference", a.name, k)
			switch r.Kind {
			case refs.KindSecretsManager:
				require.True(t, strings.HasPrefix(r.Name, sa+"/slackadapter/"), "%s: %s names a secret under %s/slackadapter/: %s", a.name, k, sa, r.Name)
			case refs.KindSSMSecure:
				require.True(t, strings.HasPrefix(r.Name, "/"+sa+"/slackadapter/"), "%s: %s names a parameter under /%s/slackadapter/: %s", a.name, k, sa, r.Name)
			default:
				t.Errorf("%s: %s must be a secretsmanager or ssm-secure reference", a.name, k)
			}
		}
	}
}

// TestDeployAWSModelsMatchTheBedrockRole: every Bedrock model the aws
// overlay's registry (deploy/k8s/overlays/aws/models.json) names is one the
// stack's inference role may invoke by default (BedrockModelArns), and the
// registry keeps the model slackadapter answers with by default.
func TestDeployAWSModelsMatchTheBedrockRole(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(k8sAWSOverlay, "models.json"))
	require.NoError(t, err)
	var reg struct {
		Upstreams map[string]struct {
			Type string `json:"type"`
		} `json:"upstreams"`
		Models []struct {
			ID            string `json:"id"`
			Upstream      string `json:"upstream"`
			UpstreamModel string `json:"upstream_model"`
		} `json:"models"`
	}
	require.NoError(t, json.Unmarshal(data, &reg))
	param, ok := openCFN(t, cfnMain).Parameters["BedrockModelArns"]
	require.True(t, ok)
	allowed := map[string]bool{}
	for _, arn := range strings.Split(fmt.Sprint(param.Default), ",") {
		_, model, found := strings.Cut(arn, "foundation-model/")
		require.True(t, found, arn)
		allowed[model] = true
	}
	var bedrock, extractive int
	for _, m := range reg.Models {
		if m.ID == "rampart-extractive" {
			extractive++
		}
		if reg.Upstreams[m.Upstream].Type != "bedrock" {
			continue
		}
		bedrock++
		require.True(t, allowed[m.UpstreamModel], "%s (%s) is not in the stack's BedrockModelArns: the role could not invoke it", m.ID, m.UpstreamModel)
	}
	require.Positive(t, bedrock, "the aws overlay serves Bedrock models")
	require.Equal(t, 1, extractive, "slackadapter's default model stays in the registry")
}
