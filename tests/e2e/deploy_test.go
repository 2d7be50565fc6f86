package e2e

// Validation of the production deployment manifests without a cluster or an
// AWS account: the Kubernetes manifests are built with kustomize's own Go
// library and every object is decoded strictly (unknown fields fail) into
// k8s.io/api types; the CloudFormation templates are parsed with goformation
// (whose resource types also reject unknown properties); the Grafana
// dashboard may only query metrics the code registers. On top of decoding,
// the tests check the security invariants docs/deploy.md promises.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/apigateway"
	"github.com/awslabs/goformation/v7/cloudformation/elasticloadbalancingv2"
	"github.com/awslabs/goformation/v7/cloudformation/kms"
	"github.com/awslabs/goformation/v7/cloudformation/logs"
	"github.com/awslabs/goformation/v7/cloudformation/wafv2"
	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/rampart-platform/rampart/pkg/config"
)

var (
	k8sBase       = filepath.Join(repoRoot, "deploy", "k8s", "base")
	k8sAWSOverlay = filepath.Join(repoRoot, "deploy", "k8s", "overlays", "aws")
	cfnMain       = filepath.Join(repoRoot, "deploy", "aws", "rampart.yaml")
	cfnTenant     = filepath.Join(repoRoot, "deploy", "aws", "tenant.yaml")
	grafanaDir    = filepath.Join(repoRoot, "deploy", "grafana")
)

// ---------------------------------------------------------------- decoding

// TargetGroupBinding is the AWS Load Balancer Controller CRD
// (elbv2.k8s.aws/v1beta1) the AWS overlay uses, modelled here with the fields
// we use so that strict decoding still catches typos.
type TargetGroupBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		TargetGroupARN string `json:"targetGroupARN"`
		TargetType     string `json:"targetType"`
		ServiceRef     struct {
			Name string             `json:"name"`
			Port intstr.IntOrString `json:"port"`
		} `json:"serviceRef"`
	} `json:"spec"`
}

// manifests is every object of a build, by kind.
type manifests struct {
	Namespaces      []*corev1.Namespace
	ServiceAccounts []*corev1.ServiceAccount
	Services        []*corev1.Service
	PVCs            []*corev1.PersistentVolumeClaim
	Deployments     []*appsv1.Deployment
	PDBs            []*policyv1.PodDisruptionBudget
	NetworkPolicies []*networkingv1.NetworkPolicy
	HPAs            []*autoscalingv2.HorizontalPodAutoscaler
	Jobs            []*batchv1.Job
	TGBs            []*TargetGroupBinding
	ConfigMaps      []*corev1.ConfigMap
}

// decodeStrict decodes one JSON document into dst, failing on unknown fields
// and on trailing data.
func decodeStrict(doc []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the object")
	}
	return nil
}

// splitYAML returns the non-empty documents of a multi-document YAML stream
// converted to JSON.
func splitYAML(t *testing.T, name string, data []byte) [][]byte {
	t.Helper()
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err, name)
		j, err := yaml.YAMLToJSON(doc)
		require.NoError(t, err, name)
		if s := strings.TrimSpace(string(j)); s == "null" || s == "" || s == "{}" {
			continue
		}
		docs = append(docs, j)
	}
}

// decodeTo decodes an object with decode and appends it to list.
func decodeTo[T any](decode func(dst any), list *[]*T) {
	o := new(T)
	decode(o)
	*list = append(*list, o)
}

func (m *manifests) add(t *testing.T, name string, doc []byte) {
	t.Helper()
	var tm metav1.TypeMeta
	require.NoError(t, json.Unmarshal(doc, &tm), name)
	decode := func(dst any) {
		t.Helper()
		require.NoError(t, decodeStrict(doc, dst), "%s: %s %s must decode strictly", name, tm.APIVersion, tm.Kind)
	}
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		decodeTo(decode, &m.Namespaces)
	case "v1 ServiceAccount":
		decodeTo(decode, &m.ServiceAccounts)
	case "v1 Service":
		decodeTo(decode, &m.Services)
	case "v1 PersistentVolumeClaim":
		decodeTo(decode, &m.PVCs)
	case "apps/v1 Deployment":
		decodeTo(decode, &m.Deployments)
	case "policy/v1 PodDisruptionBudget":
		decodeTo(decode, &m.PDBs)
	case "networking.k8s.io/v1 NetworkPolicy":
		decodeTo(decode, &m.NetworkPolicies)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		decodeTo(decode, &m.HPAs)
	case "batch/v1 Job":
		decodeTo(decode, &m.Jobs)
	case "elbv2.k8s.aws/v1beta1 TargetGroupBinding":
		decodeTo(decode, &m.TGBs)
	case "v1 ConfigMap":
		decodeTo(decode, &m.ConfigMaps)
	default:
		t.Fatalf("%s: unexpected object %s %s (add it to the deploy test)", name, tm.APIVersion, tm.Kind)
	}
}

// kustomizeBuild builds dir with kustomize's library (what `kubectl apply
// -k` runs) and decodes every resulting object strictly.
func kustomizeBuild(t *testing.T, dir string) *manifests {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	rm, err := k.Run(filesys.MakeFsOnDisk(), abs)
	require.NoError(t, err, "kustomize build %s", dir)
	out, err := rm.AsYaml()
	require.NoError(t, err)
	m := &manifests{}
	for _, doc := range splitYAML(t, dir, out) {
		m.add(t, dir, doc)
	}
	return m
}

func (m *manifests) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	for _, d := range m.Deployments {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no Deployment %s", name)
	return nil
}

// ---------------------------------------------------------------- Kubernetes

// TestDeployK8sFilesDecodeStrictly decodes every YAML file under deploy/k8s
// on its own, so a typo fails with the file's name, and checks that the
// kustomizations list every resource file of their directory.
func TestDeployK8sFilesDecodeStrictly(t *testing.T) {
	t.Parallel()
	root := filepath.Join(repoRoot, "deploy", "k8s")
	listed := map[string][]string{} // dir → resources in its kustomization
	var files []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		files = append(files, p)
		return nil
	}))
	require.NotEmpty(t, files)
	// First the kustomizations (what they list, which files are patches),
	// then every other file on its own.
	patches := map[string]bool{}
	for _, p := range files {
		if filepath.Base(p) != "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		j, err := yaml.YAMLToJSON(data)
		require.NoError(t, err, p)
		var k kustypes.Kustomization
		require.NoError(t, decodeStrict(j, &k), "%s must decode strictly as a Kustomization", p)
		require.Equal(t, "Kustomization", k.Kind, p)
		listed[filepath.Dir(p)] = k.Resources
		for _, pt := range k.Patches {
			if pt.Path != "" {
				patches[filepath.Join(filepath.Dir(p), pt.Path)] = true
			}
		}
		// Files a generator reads ([key=]path) are data, not objects.
		for _, g := range k.ConfigMapGenerator {
			for _, f := range g.FileSources {
				_, path, found := strings.Cut(f, "=")
				if !found {
					path = f
				}
				patches[filepath.Join(filepath.Dir(p), path)] = true
			}
		}
	}
	for _, p := range files {
		if filepath.Base(p) == "kustomization.yaml" || patches[p] {
			// Strategic-merge patches are partial objects; kustomize applies
			// them and TestDeployK8sAWSOverlay decodes the result.
			continue
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		m := &manifests{}
		for _, doc := range splitYAML(t, p, data) {
			m.add(t, p, doc)
		}
	}
	for dir, res := range listed {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if e.IsDir() || e.Name() == "kustomization.yaml" || patches[p] {
				continue
			}
			require.Contains(t, res, e.Name(), "%s is not listed in %s/kustomization.yaml", e.Name(), dir)
		}
	}
}

func TestDeployK8sNamespaceIsRestricted(t *testing.T) {
	t.Parallel()
	m := kustomizeBuild(t, k8sBase)
	require.Len(t, m.Namespaces, 1)
	ns := m.Namespaces[0]
	require.Equal(t, "rampart", ns.Name)
	require.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"],
		"Pod Security Admission must enforce the restricted profile")
	for _, list := range [][]metav1.Object{objs(m.Deployments), objs(m.Services), objs(m.NetworkPolicies), objs(m.PDBs), objs(m.ServiceAccounts), objs(m.PVCs)} {
		for _, o := range list {
			require.Equal(t, "rampart", o.GetNamespace(), "%s is in the rampart namespace", o.GetName())
		}
	}
}

func objs[T metav1.Object](in []T) []metav1.Object {
	out := make([]metav1.Object, len(in))
	for i, o := range in {
		out[i] = o
	}
	return out
}

func TestDeployK8sDeployments(t *testing.T) {
	t.Parallel()
	m := kustomizeBuild(t, k8sBase)
	var names []string
	for _, d := range m.Deployments {
		names = append(names, d.Name)
	}
	require.ElementsMatch(t, config.Services(), names, "one Deployment per service")

	for _, name := range config.Services() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := m.deployment(t, name)
			pod := d.Spec.Template.Spec
			labels := d.Spec.Template.Labels
			require.NotNil(t, d.Spec.Selector)
			for k, v := range d.Spec.Selector.MatchLabels {
				require.Equal(t, v, labels[k], "selector matches the pod template")
			}

			// Pod-level hardening.
			require.False(t, pod.HostNetwork || pod.HostPID || pod.HostIPC, "no host namespaces")
			require.NotNil(t, pod.AutomountServiceAccountToken)
			require.False(t, *pod.AutomountServiceAccountToken, "no Kubernetes API token in the pod")
			require.Equal(t, name, pod.ServiceAccountName)
			psc := pod.SecurityContext
			require.NotNil(t, psc)
			require.True(t, psc.RunAsNonRoot != nil && *psc.RunAsNonRoot, "runAsNonRoot")
			require.True(t, psc.RunAsUser != nil && *psc.RunAsUser == 65532, "runs as the distroless nonroot uid")
			require.True(t, psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault, "seccomp RuntimeDefault")
			for _, v := range pod.Volumes {
				require.Nil(t, v.HostPath, "no hostPath volumes (%s)", v.Name)
			}

			require.Len(t, pod.Containers, 1)
			require.Empty(t, pod.InitContainers)
			c := pod.Containers[0]

			// Image: pinned, never latest.
			repo, tag, ok := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":")
			require.True(t, ok || strings.Contains(c.Image, "@sha256:"), "image %s has a tag or digest", c.Image)
			require.Equal(t, "rampart-"+name, strings.Split(repo, "@")[0])
			require.NotEqual(t, "latest", tag, "image tag must not be latest")
			require.NotEmpty(t, tag)

			// Container hardening.
			sc := c.SecurityContext
			require.NotNil(t, sc)
			require.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "read-only root filesystem")
			require.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "allowPrivilegeEscalation false")
			require.True(t, sc.RunAsNonRoot != nil && *sc.RunAsNonRoot)
			require.False(t, sc.Privileged != nil && *sc.Privileged)
			require.NotNil(t, sc.Capabilities)
			require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
			require.Empty(t, sc.Capabilities.Add)
			require.True(t, sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault)

			// Resources: requests and limits for CPU and memory, requests ≤ limits.
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, okReq := c.Resources.Requests[r]
				lim, okLim := c.Resources.Limits[r]
				require.True(t, okReq && okLim, "%s request and limit set", r)
				require.LessOrEqual(t, req.Cmp(lim), 0, "%s request ≤ limit", r)
			}

			// Ports per docs/conventions.md.
			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			mainPort := "grpc"
			if name == "edge" {
				mainPort = "http"
			}
			require.Equal(t, portNum(t, config.DefaultAddr(name)), ports[mainPort], "%s port", mainPort)
			require.Equal(t, portNum(t, config.DefaultAdminAddr(name)), ports["admin"], "admin port")

			// Probes on the admin listener.
			for probe, path := range map[*corev1.Probe]string{c.ReadinessProbe: "/readyz", c.LivenessProbe: "/healthz"} {
				require.NotNil(t, probe, "readiness and liveness probes")
				requireProbe(t, name, probe, path)
			}
			require.NotNil(t, c.StartupProbe)

			// Environment: per docs/conventions.md, loadable by pkg/config.
			env := map[string]corev1.EnvVar{}
			for _, e := range c.Env {
				_, dup := env[e.Name]
				require.False(t, dup, "env %s set twice", e.Name)
				env[e.Name] = e
			}
			lit := func(k string) string {
				t.Helper()
				e, ok := env[k]
				require.True(t, ok, "env %s is set", k)
				require.Nil(t, e.ValueFrom, "env %s is a literal", k)
				return e.Value
			}
			prefix := config.Prefix(name)
			require.Equal(t, config.ProfileProd, lit("RAMPART_PROFILE"))
			require.Equal(t, "/pki", lit("RAMPART_CERT_DIR"))
			require.Equal(t, "/data", lit(prefix+"DATA_DIR"))
			require.Equal(t, "0.0.0.0:"+port(t, config.DefaultAddr(name)), lit(prefix+"LISTEN_ADDR"))
			require.Equal(t, "0.0.0.0:"+port(t, config.DefaultAdminAddr(name)), lit(prefix+"ADMIN_ADDR"))
			for _, other := range config.Services() {
				if other != "edge" {
					require.Equal(t, other+":"+port(t, config.DefaultAddr(other)), lit("RAMPART_"+strings.ToUpper(other)+"_ADDR"))
				}
			}
			cfg := config.Defaults(name)
			require.NoError(t, config.LoadWith(prefix, &cfg, nil, func(k string) (string, bool) {
				e, ok := env[k]
				if !ok || e.ValueFrom != nil {
					return "", false
				}
				return e.Value, true
			}), "the literal environment loads and validates with pkg/config")
			for k, e := range env {
				if e.ValueFrom != nil {
					require.Nil(t, e.ValueFrom.ConfigMapKeyRef, "%s: configuration that is secret comes from Secrets", k)
				}
				if strings.Contains(k, "DATABASE_URL") || strings.Contains(k, "REDIS_URL") {
					require.NotNil(t, e.ValueFrom, "%s carries a password: from a Secret, never a literal", k)
					require.NotNil(t, e.ValueFrom.SecretKeyRef, k)
				}
			}

			// Mounts: certificates read-only from this service's Secret,
			// renamed to the files pkg/mtls reads; /data and /tmp writable.
			mounts := map[string]corev1.VolumeMount{}
			for _, vm := range c.VolumeMounts {
				mounts[vm.MountPath] = vm
				require.Empty(t, vm.SubPath, "subPath mounts never see Secret updates (%s)", vm.MountPath)
			}
			vols := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				vols[v.Name] = v
			}
			pki, ok := mounts["/pki"]
			require.True(t, ok, "certificates mounted at /pki")
			require.True(t, pki.ReadOnly)
			sv := vols[pki.Name].Secret
			require.NotNil(t, sv, "/pki comes from a Secret")
			require.Equal(t, "rampart-"+name+"-tls", sv.SecretName)
			paths := map[string]string{}
			for _, it := range sv.Items {
				paths[it.Key] = it.Path
			}
			require.Equal(t, map[string]string{"ca.crt": "ca.crt", "tls.crt": name + ".crt", "tls.key": name + ".key"}, paths)
			require.True(t, sv.DefaultMode != nil && *sv.DefaultMode&0o007 == 0, "key material not world-readable")
			require.Contains(t, mounts, "/data")
			require.Contains(t, mounts, "/tmp")
			data := vols[mounts["/data"].Name]

			// State: nothing on a volume of the pod's own (the data dir is
			// an emptyDir for derived or scratch files).
			require.NotNil(t, d.Spec.Replicas)
			require.NotNil(t, data.EmptyDir, "the data dir is scratch space")
			// Every service runs several replicas (issue 16): each keeps its
			// state in PostgreSQL and Redis, and the key files every replica
			// must share come from one Secret (docs/adr/0022).
			require.GreaterOrEqual(t, *d.Spec.Replicas, int32(2), "%s survives losing a replica", name)
			require.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)
			require.Nil(t, data.PersistentVolumeClaim, "replicas keep no state on a volume of their own")
			sharedFile := func(envName, secret string) {
				t.Helper()
				dir := lit(envName)
				var mounted bool
				for _, vm := range c.VolumeMounts {
					if strings.HasPrefix(dir, vm.MountPath) {
						v := vols[vm.Name]
						require.True(t, vm.ReadOnly, "%s is read-only", vm.MountPath)
						require.NotNil(t, v.Secret, "%s comes from a Secret", envName)
						require.Equal(t, secret, v.Secret.SecretName)
						require.True(t, v.Secret.DefaultMode != nil && *v.Secret.DefaultMode&0o007 == 0, "key material not world-readable")
						mounted = true
					}
				}
				require.True(t, mounted, "%s (%s) is on a Secret volume", envName, dir)
			}
			if name != "edge" {
				require.Contains(t, env, prefix+"DATABASE_URL", "replicated %s needs PostgreSQL", name)
				require.Equal(t, "rampart-"+name+"-db", env[prefix+"DATABASE_URL"].ValueFrom.SecretKeyRef.Name)
			}
			switch name {
			case "auth":
				sharedFile("RAMPART_AUTH_SIGNING_KEK_FILE", "rampart-auth-signing-kek")
			case "keyvault":
				sharedFile("RAMPART_KEYVAULT_KEY_DIR", "rampart-keyvault-keys")
			case "slackadapter":
				sharedFile("RAMPART_SLACKADAPTER_KEK_FILE", "rampart-slackadapter-kek")
			case "inference", "edge":
				require.Contains(t, env, "RAMPART_REDIS_URL", "%s replicas share quotas and rate limits through Redis", name)
			}
			if name == "edge" {
				require.Equal(t, "0.0.0.0:8080", lit("RAMPART_HTTP_ADDR"))
			}

			// ServiceAccount without token automount.
			var sa *corev1.ServiceAccount
			for _, s := range m.ServiceAccounts {
				if s.Name == name {
					sa = s
				}
			}
			require.NotNil(t, sa, "ServiceAccount %s", name)
			require.True(t, sa.AutomountServiceAccountToken != nil && !*sa.AutomountServiceAccountToken)

			// Service selecting exactly these pods with the conventional ports.
			var svc *corev1.Service
			for _, s := range m.Services {
				if s.Name == name {
					svc = s
				}
			}
			require.NotNil(t, svc, "Service %s", name)
			require.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type, "only ClusterIP services; the load balancer lives outside (AWS template)")
			require.True(t, selects(svc.Spec.Selector, labels))
			if name != "edge" {
				require.Equal(t, corev1.ClusterIPNone, svc.Spec.ClusterIP, "a backend's Service is headless so gRPC clients see and balance over every pod")
			}
			svcPorts := map[int32]bool{}
			for _, p := range svc.Spec.Ports {
				svcPorts[p.Port] = true
			}
			require.True(t, svcPorts[ports[mainPort]] && svcPorts[ports["admin"]])

			// PodDisruptionBudget that never blocks drains of a singleton.
			var pdb *policyv1.PodDisruptionBudget
			for _, p := range m.PDBs {
				if p.Spec.Selector != nil && selects(p.Spec.Selector.MatchLabels, labels) {
					require.Nil(t, pdb, "one PDB per service")
					pdb = p
				}
			}
			require.NotNil(t, pdb, "PodDisruptionBudget for %s", name)

			// HorizontalPodAutoscaler scaling this Deployment from its
			// replica count up, on CPU.
			var hpa *autoscalingv2.HorizontalPodAutoscaler
			for _, h := range m.HPAs {
				if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == name {
					require.Nil(t, hpa, "one HPA per service")
					hpa = h
				}
			}
			require.NotNil(t, hpa, "HorizontalPodAutoscaler for %s", name)
			require.Equal(t, "apps/v1", hpa.Spec.ScaleTargetRef.APIVersion)
			require.NotNil(t, hpa.Spec.MinReplicas)
			require.Equal(t, *d.Spec.Replicas, *hpa.Spec.MinReplicas, "the HPA never scales below the Deployment's replicas")
			require.Greater(t, hpa.Spec.MaxReplicas, *hpa.Spec.MinReplicas)
			require.NotEmpty(t, hpa.Spec.Metrics)
			for _, mt := range hpa.Spec.Metrics {
				require.Equal(t, autoscalingv2.ResourceMetricSourceType, mt.Type)
				require.Equal(t, corev1.ResourceCPU, mt.Resource.Name, "scales on CPU, which every container requests")
			}
			if *d.Spec.Replicas > 1 {
				require.True(t, pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.IntValue() >= 1, "keeps one replica serving")
			} else {
				require.Nil(t, pdb.Spec.MinAvailable, "minAvailable on a single replica blocks node drains forever")
				require.NotNil(t, pdb.Spec.MaxUnavailable)
			}
		})
	}
}

// TestDeployK8sMigrationJob: one Job migrates every service's database
// with that service's image ("<svc> migrate") and the same database Secret
// as its Deployment, hardened like the services, reaching only PostgreSQL.
func TestDeployK8sMigrationJob(t *testing.T) {
	t.Parallel()
	m := kustomizeBuild(t, k8sBase)
	require.Len(t, m.Jobs, 1)
	job := m.Jobs[0]
	pod := job.Spec.Template.Spec
	require.Contains(t, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}, pod.RestartPolicy)
	require.NotNil(t, job.Spec.BackoffLimit)
	require.NotNil(t, job.Spec.ActiveDeadlineSeconds, "a database that never answers does not hold the Job forever")
	require.True(t, pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken)
	require.True(t, pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot)

	byName := map[string]corev1.Container{}
	for _, c := range pod.Containers {
		byName[c.Name] = c
	}
	var withDB []string
	for _, name := range config.Services() {
		if name != "edge" {
			withDB = append(withDB, name)
		}
	}
	require.ElementsMatch(t, withDB, slices.Collect(maps.Keys(byName)), "a container per service with a database")
	for _, name := range withDB {
		c := byName[name]
		repo, _, _ := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":")
		require.Equal(t, "rampart-"+name, repo)
		dep := m.deployment(t, name).Spec.Template.Spec.Containers[0]
		require.Equal(t, dep.Image, c.Image, "%s: migrates with the release it deploys", name)
		require.Equal(t, []string{"migrate"}, c.Args)
		var url *corev1.EnvVar
		for i, e := range c.Env {
			if e.Name == config.Prefix(name)+"DATABASE_URL" {
				url = &c.Env[i]
			}
		}
		require.NotNil(t, url, "%s: DATABASE_URL", name)
		require.NotNil(t, url.ValueFrom.SecretKeyRef, "from a Secret")
		for _, e := range dep.Env {
			if e.Name == url.Name {
				require.Equal(t, e.ValueFrom.SecretKeyRef, url.ValueFrom.SecretKeyRef, "%s: the database its Deployment uses", name)
			}
		}
		sc := c.SecurityContext
		require.True(t, sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem)
		require.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation)
		require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
		_, okCPU := c.Resources.Limits[corev1.ResourceCPU]
		_, okMem := c.Resources.Limits[corev1.ResourceMemory]
		require.True(t, okCPU && okMem, "%s: limits", name)
	}

	// Network: out only to PostgreSQL (and DNS), nothing in but the
	// namespace-wide metrics scrape of admin ports (it has none).
	for _, np := range m.NetworkPolicies {
		if !selects(np.Spec.PodSelector.MatchLabels, job.Spec.Template.Labels) {
			continue
		}
		if np.Name != "allow-metrics-scrape" {
			require.Empty(t, np.Spec.Ingress, "%s: nothing calls the migration", np.Name)
		}
		for _, r := range np.Spec.Egress {
			for _, p := range r.Ports {
				require.Contains(t, []int{53, 5432}, p.Port.IntValue(), "%s: only DNS and PostgreSQL", np.Name)
			}
		}
	}
	require.True(t, egressTo(m.NetworkPolicies, job.Spec.Template.Labels, func(p networkingv1.NetworkPolicyPeer, port int32) bool {
		return port == 5432 && p.IPBlock != nil
	}), "the migration reaches PostgreSQL")
}

func requireProbe(t *testing.T, name string, p *corev1.Probe, path string) {
	t.Helper()
	switch {
	case p.HTTPGet != nil:
		require.Equal(t, path, p.HTTPGet.Path)
		require.Equal(t, intstr.FromString("admin"), p.HTTPGet.Port, "probes use the admin port")
	case p.Exec != nil:
		require.Equal(t, []string{"/usr/local/bin/" + name, "healthcheck"}, p.Exec.Command)
	default:
		t.Fatalf("%s: probe must GET %s on the admin port or exec the healthcheck", name, path)
	}
}

func portNum(t *testing.T, addr string) int32 {
	t.Helper()
	n, err := strconv.Atoi(port(t, addr))
	require.NoError(t, err)
	return int32(n) //nolint:gosec // a port
}

// portOf is a NetworkPolicy port as a number (named ports are not used here).
func portOf(p *intstr.IntOrString) int32 {
	return int32(p.IntValue()) //nolint:gosec // TCP ports fit
}

func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return true
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// callGraph is who may open a connection to whom (docs/deploy.md): the edge
// reaches every backend; every backend reaches auth for the principal
// verification keys; inference → ingestion (RAG search) and keyvault;
// ingestion → keyvault (data keys) and inference (embedding models,
// EmbedForTenant); slackadapter → keyvault (bot tokens) and inference.
var callGraph = map[string][]string{
	"edge":         {"auth", "keyvault", "inference", "ingestion", "slackadapter"},
	"keyvault":     {"auth"},
	"inference":    {"auth", "ingestion", "keyvault"},
	"ingestion":    {"auth", "keyvault", "inference"},
	"slackadapter": {"auth", "keyvault", "inference", "ingestion"},
	"auth":         {},
}

// peerAllowed reports whether the policies that select pod (labels) allow
// traffic to/from peerLabels (a pod in the same namespace) on port, in
// direction ingress (from) or egress (to). Pods selected by no policy of
// that direction are unrestricted — which the default deny rules out.
func peerAllowed(nps []*networkingv1.NetworkPolicy, labels, peerLabels map[string]string, port int32, ingress bool) bool {
	dir := networkingv1.PolicyTypeEgress
	if ingress {
		dir = networkingv1.PolicyTypeIngress
	}
	for _, np := range nps {
		if !slices.Contains(np.Spec.PolicyTypes, dir) || !selects(np.Spec.PodSelector.MatchLabels, labels) {
			continue
		}
		type rule struct {
			peers []networkingv1.NetworkPolicyPeer
			ports []networkingv1.NetworkPolicyPort
		}
		var rules []rule
		if ingress {
			for _, r := range np.Spec.Ingress {
				rules = append(rules, rule{r.From, r.Ports})
			}
		} else {
			for _, r := range np.Spec.Egress {
				rules = append(rules, rule{r.To, r.Ports})
			}
		}
		for _, r := range rules {
			portOK := len(r.ports) == 0
			for _, p := range r.ports {
				portOK = portOK || p.Port == nil || p.Port.IntValue() == int(port)
			}
			if !portOK {
				continue
			}
			if len(r.peers) == 0 {
				return true
			}
			for _, peer := range r.peers {
				if peer.NamespaceSelector == nil && peer.IPBlock == nil && peer.PodSelector != nil &&
					selects(peer.PodSelector.MatchLabels, peerLabels) {
					return true
				}
			}
		}
	}
	return false
}

func TestDeployK8sNetworkPolicies(t *testing.T) {
	t.Parallel()
	m := kustomizeBuild(t, k8sBase)
	nps := m.NetworkPolicies

	// Default deny in both directions for every pod of the namespace.
	var deny *networkingv1.NetworkPolicy
	for _, np := range nps {
		if len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0 &&
			len(np.Spec.Ingress) == 0 && len(np.Spec.Egress) == 0 {
			deny = np
		}
	}
	require.NotNil(t, deny, "a default-deny NetworkPolicy (empty podSelector, no rules)")
	require.ElementsMatch(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, deny.Spec.PolicyTypes)

	podLabels := map[string]map[string]string{}
	svcPort := map[string]int32{}
	adminPorts := map[int32]bool{}
	for _, name := range config.Services() {
		podLabels[name] = m.deployment(t, name).Spec.Template.Labels
		svcPort[name] = portNum(t, config.DefaultAddr(name))
		adminPorts[portNum(t, config.DefaultAdminAddr(name))] = true
	}

	// Inside the namespace, exactly the call graph: an edge exists only when
	// the caller's egress and the callee's ingress both allow it.
	for _, from := range config.Services() {
		for _, to := range config.Services() {
			if from == to {
				continue
			}
			want := slices.Contains(callGraph[from], to)
			got := peerAllowed(nps, podLabels[from], podLabels[to], svcPort[to], false) &&
				peerAllowed(nps, podLabels[to], podLabels[from], svcPort[to], true)
			require.Equal(t, want, got, "%s → %s:%d allowed", from, to, svcPort[to])
		}
	}

	// From outside the namespace: only the edge's public port, plus metrics
	// scraping of admin ports from the monitoring namespace.
	for _, np := range nps {
		for _, r := range np.Spec.Ingress {
			for _, peer := range r.From {
				if peer.NamespaceSelector == nil && peer.IPBlock == nil {
					continue
				}
				for _, name := range config.Services() {
					if !selects(np.Spec.PodSelector.MatchLabels, podLabels[name]) {
						continue
					}
					if name == "edge" && peer.IPBlock != nil {
						require.Len(t, r.Ports, 1, "%s: outside traffic reaches only the public port", np.Name)
						require.Equal(t, svcPort["edge"], portOf(r.Ports[0].Port))
						continue
					}
					require.NotNil(t, peer.NamespaceSelector, "%s: only the edge accepts traffic from IP blocks", np.Name)
					require.Equal(t, map[string]string{"kubernetes.io/metadata.name": "monitoring"}, peer.NamespaceSelector.MatchLabels,
						"%s: the only other namespace allowed in is monitoring", np.Name)
					require.Nil(t, peer.PodSelector)
					require.NotEmpty(t, r.Ports, "%s: monitoring reaches named ports only", np.Name)
					for _, p := range r.Ports {
						require.True(t, adminPorts[portOf(p.Port)], "%s: monitoring reaches admin ports only, not %v", np.Name, p.Port)
					}
				}
			}
		}
	}

	// Egress out of the namespace: DNS for everyone; the internet (443)
	// only for inference (LLM upstreams) and slackadapter (Slack), never
	// to private ranges or instance metadata.
	for _, name := range config.Services() {
		require.True(t, egressTo(nps, podLabels[name], func(p networkingv1.NetworkPolicyPeer, port int32) bool {
			return port == 53 && p.NamespaceSelector != nil && p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == "kube-system"
		}), "%s resolves names via kube-dns", name)
		internet := egressTo(nps, podLabels[name], func(p networkingv1.NetworkPolicyPeer, _ int32) bool {
			return p.IPBlock != nil && p.IPBlock.CIDR == "0.0.0.0/0"
		})
		require.Equal(t, name == "inference" || name == "slackadapter", internet, "%s internet egress", name)
	}
	for _, name := range config.Services() {
		pg := egressTo(nps, podLabels[name], func(p networkingv1.NetworkPolicyPeer, port int32) bool {
			return port == 5432 && p.IPBlock != nil
		})
		require.Equal(t, name != "edge", pg, "%s reaches PostgreSQL", name)
		redis := egressTo(nps, podLabels[name], func(p networkingv1.NetworkPolicyPeer, port int32) bool {
			return port == 6379 && p.IPBlock != nil
		})
		require.Equal(t, name == "edge" || name == "inference", redis, "%s reaches Redis", name)
	}
	for _, np := range nps {
		for _, r := range np.Spec.Egress {
			for _, p := range r.To {
				if p.IPBlock != nil && p.IPBlock.CIDR == "0.0.0.0/0" {
					require.Subset(t, p.IPBlock.Except, []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"},
						"%s: internet egress excludes private ranges and instance metadata", np.Name)
					require.Len(t, r.Ports, 1)
					require.Equal(t, 443, r.Ports[0].Port.IntValue(), "%s: HTTPS only", np.Name)
				}
			}
		}
	}
}

func egressTo(nps []*networkingv1.NetworkPolicy, labels map[string]string, match func(networkingv1.NetworkPolicyPeer, int32) bool) bool {
	for _, np := range nps {
		if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) || !selects(np.Spec.PodSelector.MatchLabels, labels) {
			continue
		}
		for _, r := range np.Spec.Egress {
			for _, p := range r.To {
				for _, pt := range r.Ports {
					if pt.Port != nil && match(p, portOf(pt.Port)) {
						return true
					}
				}
			}
		}
	}
	return false
}

func TestDeployK8sAWSOverlay(t *testing.T) {
	t.Parallel()
	m := kustomizeBuild(t, k8sAWSOverlay)
	require.Len(t, m.Deployments, len(config.Services()), "the overlay keeps every service")

	require.Len(t, m.TGBs, 1)
	tgb := m.TGBs[0]
	require.Equal(t, "rampart", tgb.Namespace)
	require.Equal(t, "edge", tgb.Spec.ServiceRef.Name, "only the edge is registered with the load balancer")
	require.Equal(t, 8080, tgb.Spec.ServiceRef.Port.IntValue())
	require.Equal(t, "ip", tgb.Spec.TargetType)
	require.Regexp(t, `^arn:aws:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/`, tgb.Spec.TargetGroupARN)

	env := func(svc, k string) string {
		for _, e := range m.deployment(t, svc).Spec.Template.Spec.Containers[0].Env {
			if e.Name == k {
				return e.Value
			}
		}
		return ""
	}
	require.Equal(t, "awssm", env("keyvault", "RAMPART_KEYVAULT_BACKEND"))
	require.Equal(t, "awskms", env("keyvault", "RAMPART_KEYVAULT_KMS"))
	require.Equal(t, "alias/rampart-prod-tenant-", env("keyvault", "RAMPART_KEYVAULT_KMS_ALIAS_PREFIX"),
		"matches the aliases deploy/aws/tenant.yaml creates and the role may use")
	require.NotEmpty(t, env("edge", "RAMPART_EDGE_TRUSTED_PROXIES"))

	for _, np := range m.NetworkPolicies {
		if np.Name == "edge" {
			require.NotEqual(t, "0.0.0.0/0", np.Spec.Ingress[0].From[0].IPBlock.CIDR, "on AWS only the VPC reaches the edge")
		}
		for _, r := range np.Spec.Egress {
			for _, p := range r.To {
				if p.IPBlock != nil && strings.HasPrefix(p.IPBlock.CIDR, "169.254.") {
					require.Equal(t, "169.254.170.23/32", p.IPBlock.CIDR, "%s: link-local egress only to the EKS Pod Identity agent", np.Name)
					require.Contains(t, []string{"keyvault-aws", "inference-aws", "slackadapter-aws"}, np.Name, "only AWS callers get credentials")
				}
			}
		}
	}
}

// ---------------------------------------------------------------- CloudFormation

// cfnRef marks an intrinsic function goformation cannot resolve offline, so
// the invariants can still see what a property refers to.
func cfnRef(kind string, v any) string { return fmt.Sprintf("{{%s:%v}}", kind, v) }

// openCFN parses a template with goformation. References to parameters
// resolve to their defaults (lists to lists), everything else to a readable
// marker instead of goformation's default nil.
func openCFN(t *testing.T, path string) *cloudformation.Template {
	t.Helper()
	paramDefault := func(tmpl any, name string) (any, bool) {
		params, _ := tmpl.(map[string]any)["Parameters"].(map[string]any)
		p, ok := params[name].(map[string]any)
		if !ok {
			return nil, false
		}
		typ, _ := p["Type"].(string)
		def, hasDef := p["Default"]
		switch {
		case strings.HasPrefix(typ, "List<") || typ == "CommaDelimitedList":
			if s, ok := def.(string); ok && hasDef {
				out := []any{}
				for _, v := range strings.Split(s, ",") {
					out = append(out, strings.TrimSpace(v))
				}
				return out, true
			}
			return []any{cfnRef("Ref", name)}, true
		case typ == "Number" && hasDef:
			if s, ok := def.(string); ok {
				f, err := strconv.ParseFloat(s, 64)
				require.NoError(t, err)
				return f, true
			}
			return def, true
		case hasDef:
			return def, true
		}
		return cfnRef("Ref", name), true
	}
	overrides := map[string]intrinsics.IntrinsicHandler{
		"Ref": func(_ string, in, tmpl any) any {
			name, _ := in.(string)
			if v, ok := paramDefault(tmpl, name); ok {
				return v
			}
			return cfnRef("Ref", name)
		},
		"Fn::Sub": func(_ string, in, _ any) any {
			if l, ok := in.([]any); ok && len(l) > 0 {
				return l[0]
			}
			return in
		},
		"Fn::GetAtt": func(_ string, in, _ any) any {
			if l, ok := in.([]any); ok {
				parts := make([]string, len(l))
				for i, p := range l {
					parts[i] = fmt.Sprint(p)
				}
				return cfnRef("GetAtt", strings.Join(parts, "."))
			}
			return cfnRef("GetAtt", in)
		},
		"Fn::ImportValue": func(_ string, in, _ any) any { return cfnRef("ImportValue", in) },
		"Fn::Equals":      func(_ string, in, _ any) any { return in },
	}
	cfnParse.Lock()
	defer cfnParse.Unlock()
	if tmpl, ok := cfnParsed[path]; ok {
		return tmpl
	}
	tmpl, err := goformation.OpenWithOptions(path, &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: overrides})
	require.NoError(t, err, "%s must parse with goformation", path)
	cfnParsed[path] = tmpl
	return tmpl
}

// goformation is not safe for concurrent use: every OpenWithOptions call
// writes a package-level tag-resolver map. Parallel tests therefore parse
// through this lock, and each template is parsed once and shared read-only
// (see docs/conventions.md, "Libraries that are not thread-safe").
var (
	cfnParse  sync.Mutex
	cfnParsed = map[string]*cloudformation.Template{}
)

// statements flattens a policy document's statements.
func statements(t *testing.T, doc any) []map[string]any {
	t.Helper()
	d, ok := doc.(map[string]any)
	require.True(t, ok, "policy document is an object")
	require.Equal(t, "2012-10-17", d["Version"])
	var out []map[string]any
	switch s := d["Statement"].(type) {
	case []any:
		for _, st := range s {
			m, ok := st.(map[string]any)
			require.True(t, ok)
			out = append(out, m)
		}
	case map[string]any:
		out = append(out, s)
	default:
		t.Fatalf("policy has no statements")
	}
	return out
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, strs(e)...)
		}
		return out
	case []string:
		return x
	}
	return nil
}

// sensitivePrefixes are the services whose actions must be scoped to resources.
var sensitivePrefixes = []string{"secretsmanager:", "kms:", "bedrock:", "ssm:"}

// requireLeastPrivilege checks an identity policy: no wildcard actions, no
// "*" resource for secret/key/model actions, no NotAction/NotResource.
func requireLeastPrivilege(t *testing.T, where string, doc any) {
	t.Helper()
	for _, st := range statements(t, doc) {
		require.NotContains(t, st, "NotAction", where)
		require.NotContains(t, st, "NotResource", where)
		if st["Effect"] != "Allow" {
			continue
		}
		actions := strs(st["Action"])
		require.NotEmpty(t, actions, where)
		sensitive := false
		for _, a := range actions {
			require.NotEqual(t, "*", a, "%s: wildcard action", where)
			svc, op, _ := strings.Cut(a, ":")
			require.NotEqual(t, "*", op, "%s: %s grants a whole service", where, a)
			for _, p := range sensitivePrefixes {
				sensitive = sensitive || strings.HasPrefix(svc+":", p)
			}
		}
		resources := strs(st["Resource"])
		require.NotEmpty(t, resources, "%s: statement %v names its resources", where, st["Sid"])
		for _, r := range resources {
			if sensitive {
				require.NotEqual(t, "*", r, "%s: %v on \"Resource\": \"*\"", where, actions)
				require.True(t, strings.HasPrefix(r, "arn:") || strings.HasPrefix(r, "{{"), "%s: resource %q is an ARN", where, r)
				require.NotRegexp(t, `:\*$`, r, "%s: resource %q is a whole-service wildcard", where, r)
			}
		}
	}
}

func TestDeployCloudFormationFrontDoor(t *testing.T) {
	t.Parallel()
	tmpl := openCFN(t, cfnMain)

	// Internal NLB in the private subnets, reached through a VPC link.
	nlbs, err := tmpl.GetAllElasticLoadBalancingV2LoadBalancerResources(), error(nil)
	require.NoError(t, err)
	require.Len(t, nlbs, 1)
	var nlbName string
	var nlb *elasticloadbalancingv2.LoadBalancer
	for n, lb := range nlbs {
		nlbName, nlb = n, lb
	}
	require.Equal(t, "internal", *nlb.Scheme, "the load balancer must not be internet-facing")
	require.Equal(t, "network", *nlb.Type)
	require.Equal(t, []string{cfnRef("Ref", "PrivateSubnetIds")}, nlb.Subnets, "placed in the private subnets")

	links := tmpl.GetAllApiGatewayVpcLinkResources()
	require.Len(t, links, 1)
	var linkName string
	for n, l := range links {
		linkName = n
		require.Equal(t, []string{cfnRef("Ref", nlbName)}, l.TargetArns, "the VPC link targets the internal NLB")
	}

	tgs := tmpl.GetAllElasticLoadBalancingV2TargetGroupResources()
	require.Len(t, tgs, 1)
	for _, tg := range tgs {
		require.Equal(t, "ip", *tg.TargetType)
		require.EqualValues(t, portNum(t, config.DefaultAddr("edge")), *tg.Port, "targets the edge's HTTP port")
		require.Equal(t, "/readyz", *tg.HealthCheckPath, "drains with the edge's readiness")
	}
	for _, l := range tmpl.GetAllElasticLoadBalancingV2ListenerResources() {
		require.Equal(t, "TLS", *l.Protocol, "TLS from API Gateway to the VPC")
		require.Contains(t, *l.SslPolicy, "TLS13")
	}

	// REST API: every route goes through the VPC link; chat completions
	// stream (ADR 0006); the rest stays within the 29 s buffered limit.
	apis := tmpl.GetAllApiGatewayRestApiResources()
	require.Len(t, apis, 1)
	var apiName string
	var api *apigateway.RestApi
	for n, a := range apis {
		apiName, api = n, a
	}
	require.Equal(t, []string{"REGIONAL"}, api.EndpointConfiguration.Types)
	require.Equal(t, "HEADER", *api.ApiKeySourceType)
	body, ok := api.Body.(map[string]any)
	require.True(t, ok, "the API is defined inline as OpenAPI")
	paths, ok := body["paths"].(map[string]any)
	require.True(t, ok)
	require.Contains(t, paths, "/v1/chat/completions")
	integrations := 0
	for p, item := range paths {
		ops, ok := item.(map[string]any)
		require.True(t, ok, "%s is an object", p)
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			opm, ok := op.(map[string]any)
			require.True(t, ok, "%s %s is an object", method, p)
			in, ok := opm["x-amazon-apigateway-integration"].(map[string]any)
			require.True(t, ok, "%s %s has an integration", method, p)
			integrations++
			require.Equal(t, "http_proxy", in["type"], "%s %s", method, p)
			require.Equal(t, "VPC_LINK", in["connectionType"], "%s %s goes through the VPC link only", method, p)
			require.Equal(t, cfnRef("Ref", linkName), in["connectionId"])
			timeout, _ := in["timeoutInMillis"].(float64)
			if p == "/v1/chat/completions" || p == "/v1/completions" || p == "/v1/responses" {
				require.Equal(t, "STREAM", in["responseTransferMode"], "SSE needs response streaming (ADR 0006)")
				require.Greater(t, timeout, 29000.0)
				require.LessOrEqual(t, timeout, 900000.0, "API Gateway streams for at most 15 minutes")
			} else {
				require.Equal(t, "BUFFERED", in["responseTransferMode"], "%s %s", method, p)
				require.LessOrEqual(t, timeout, 29000.0, "buffered integrations keep the 29 s limit")
			}
			if strings.HasPrefix(p, "/v1/") {
				require.Equal(t, []any{map[string]any{"api_key": []any{}}}, opm["security"], "%s %s requires a usage-plan key", method, p)
			}
		}
	}
	require.GreaterOrEqual(t, integrations, 3)

	// Stage: throttling, access log without credentials, no data tracing.
	stages := tmpl.GetAllApiGatewayStageResources()
	require.Len(t, stages, 1)
	var stageName string
	for n, st := range stages {
		stageName = n
		require.NotNil(t, st.AccessLogSetting)
		require.Equal(t, cfnRef("GetAtt", "AccessLogGroup.Arn"), *st.AccessLogSetting.DestinationArn)
		var format map[string]string
		require.NoError(t, json.Unmarshal([]byte(*st.AccessLogSetting.Format), &format), "access log format is JSON")
		require.Contains(t, format, "requestId")
		for k, v := range format {
			lv := strings.ToLower(v)
			for _, banned := range []string{"header", "authorization", "authorizer", "querystring", "body", "apikey}"} {
				require.NotContains(t, lv, banned, "access log field %s must not carry credentials or payloads", k)
			}
		}
		var stageWide bool
		for _, ms := range st.MethodSettings {
			require.True(t, ms.DataTraceEnabled == nil || !*ms.DataTraceEnabled, "data tracing would log Authorization headers")
			if *ms.ResourcePath == "/*" && *ms.HttpMethod == "*" {
				stageWide = true
				require.NotNil(t, ms.ThrottlingRateLimit)
				require.NotNil(t, ms.ThrottlingBurstLimit)
				require.Positive(t, *ms.ThrottlingRateLimit)
				require.Positive(t, *ms.ThrottlingBurstLimit)
			}
		}
		require.True(t, stageWide, "stage-wide throttling is set")
	}
	for _, lg := range tmpl.GetAllLogsLogGroupResources() {
		requireEncryptedLogGroup(t, lg)
	}

	// Usage plans per tenant tier: throttle and quota on each.
	plans := tmpl.GetAllApiGatewayUsagePlanResources()
	require.GreaterOrEqual(t, len(plans), 2, "one usage plan per tenant tier")
	for n, up := range plans {
		require.NotNil(t, up.Throttle, n)
		require.True(t, up.Throttle.RateLimit != nil && *up.Throttle.RateLimit > 0, "%s: rate limit", n)
		require.True(t, up.Throttle.BurstLimit != nil && *up.Throttle.BurstLimit > 0, "%s: burst limit", n)
		require.NotNil(t, up.Quota, "%s: quota", n)
		require.True(t, up.Quota.Limit != nil && *up.Quota.Limit > 0)
		require.Len(t, up.ApiStages, 1)
		require.Equal(t, cfnRef("Ref", apiName), *up.ApiStages[0].ApiId)
	}

	// WAF: a blocking rate-based rule, associated with the stage.
	acls := tmpl.GetAllWAFv2WebACLResources()
	require.Len(t, acls, 1)
	var aclName string
	for n, acl := range acls {
		aclName = n
		require.Equal(t, "REGIONAL", acl.Scope)
		var rate *wafv2.WebACL_Rule
		for i, r := range acl.Rules {
			if r.Statement.RateBasedStatement != nil {
				rate = &acl.Rules[i]
			}
		}
		require.NotNil(t, rate, "a rate-based rule")
		require.Positive(t, rate.Statement.RateBasedStatement.Limit)
		require.Equal(t, "IP", rate.Statement.RateBasedStatement.AggregateKeyType)
		require.NotNil(t, rate.Action)
		require.NotNil(t, rate.Action.Block, "the rate rule blocks")
	}
	assocs := tmpl.GetAllWAFv2WebACLAssociationResources()
	require.Len(t, assocs, 1)
	for _, a := range assocs {
		require.Equal(t, cfnRef("GetAtt", aclName+".Arn"), a.WebACLArn)
		require.Contains(t, a.ResourceArn, "/restapis/${"+apiName+"}/stages/")
		require.Contains(t, a.AWSCloudFormationDependsOn, stageName)
	}
}

func requireEncryptedLogGroup(t *testing.T, lg *logs.LogGroup) {
	t.Helper()
	require.NotNil(t, lg.KmsKeyId, "log group encrypted with the environment key")
	require.NotNil(t, lg.RetentionInDays, "log retention set")
}

func TestDeployCloudFormationIAM(t *testing.T) {
	t.Parallel()
	for _, path := range []string{cfnMain, cfnTenant} {
		tmpl := openCFN(t, path)
		for n, r := range tmpl.GetAllIAMRoleResources() {
			for _, p := range r.Policies {
				requireLeastPrivilege(t, n+"/"+p.PolicyName, p.PolicyDocument)
			}
			require.Empty(t, r.ManagedPolicyArns, "%s: inline least-privilege policies only", n)
			for _, st := range statements(t, r.AssumeRolePolicyDocument) {
				principal, _ := st["Principal"].(map[string]any)
				require.NotContains(t, principal, "AWS", "%s: no cross-account/user trust", n)
				require.Contains(t, st, "Condition", "%s: trust is conditioned on the source account", n)
				if principal["Service"] == "pods.eks.amazonaws.com" {
					cond, ok := st["Condition"].(map[string]any)
					require.True(t, ok)
					require.Contains(t, cond, "ArnEquals", "%s: trusted only for this EKS cluster", n)
				}
			}
		}
		for n, p := range tmpl.GetAllIAMPolicyResources() {
			requireLeastPrivilege(t, n, p.PolicyDocument)
		}
		for n, p := range tmpl.GetAllIAMManagedPolicyResources() {
			requireLeastPrivilege(t, n, p.PolicyDocument)
		}

		// KMS keys: rotation on; the key policy gives cryptographic use only
		// to named principals under conditions, and administration without
		// decryption to the account.
		keys := tmpl.GetAllKMSKeyResources()
		require.NotEmpty(t, keys, path)
		for n, k := range keys {
			requireKMSKey(t, n, k)
		}
	}

	tmpl := openCFN(t, cfnMain)
	roles := tmpl.GetAllIAMRoleResources()
	// keyvault: secrets of this environment only, tenant keys by alias.
	kv := roles["KeyvaultRole"]
	require.NotNil(t, kv)
	var kvActions []string
	for _, p := range kv.Policies {
		for _, st := range statements(t, p.PolicyDocument) {
			kvActions = append(kvActions, strs(st["Action"])...)
			for _, a := range strs(st["Action"]) {
				switch {
				case strings.HasPrefix(a, "secretsmanager:"):
					require.Equal(t, []string{"arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:rampart/*/${Env}/*"},
						strs(st["Resource"]), "secrets confined to this environment's names")
				case a == "kms:GenerateDataKey" || a == "kms:Decrypt":
					cond, _ := st["Condition"].(map[string]any)
					require.Contains(t, cond, "ForAnyValue:StringLike", "tenant keys by alias only")
					require.Contains(t, cond, "Null", "the tenant encryption context is required")
				}
			}
		}
	}
	require.Contains(t, kvActions, "secretsmanager:GetSecretValue")
	require.NotContains(t, kvActions, "secretsmanager:ListSecrets", "ListSecrets cannot be scoped to resources")
	require.NotContains(t, kvActions, "kms:CreateKey", "CreateKey cannot be scoped to resources; tenant.yaml creates tenant keys")
	envKey := tmpl.GetAllIAMPolicyResources()["KeyvaultEnvKeyPolicy"]
	require.NotNil(t, envKey)
	for _, st := range statements(t, envKey.PolicyDocument) {
		require.Equal(t, []string{cfnRef("GetAtt", "EnvKey.Arn")}, strs(st["Resource"]), "one key")
		cond, ok := st["Condition"].(map[string]any)
		require.True(t, ok, "conditioned")
		require.Contains(t, cond, "StringEquals", "only via Secrets Manager/SSM")
		require.Contains(t, fmt.Sprint(cond["StringLike"]), "kms:EncryptionContext:", "bound to this environment's encryption context")
	}

	// inference: exactly the listed model ARNs, streaming and not.
	inf := roles["InferenceRole"]
	require.NotNil(t, inf)
	require.Len(t, inf.Policies, 1)
	sts := statements(t, inf.Policies[0].PolicyDocument)
	require.Len(t, sts, 1)
	require.ElementsMatch(t, []string{"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}, strs(sts[0]["Action"]))
	models := strs(sts[0]["Resource"])
	require.NotEmpty(t, models)
	for _, arn := range models {
		require.Regexp(t, `^arn:aws:bedrock:[a-z0-9-]+:(\d{12})?:(foundation-model|inference-profile)/[A-Za-z0-9.:-]+$`, arn, "exact model ARNs, no wildcards")
	}

	// Pod identities bind exactly keyvault, inference and slackadapter.
	var sas []string
	for _, a := range tmpl.GetAllEKSPodIdentityAssociationResources() {
		sas = append(sas, a.ServiceAccount)
	}
	require.ElementsMatch(t, []string{"keyvault", "inference", "slackadapter"}, sas, "only keyvault, inference and slackadapter get AWS credentials")

	// slackadapter: read-only, the Slack app's secrets and parameters under
	// <env>/slackadapter/ (ADR 0126 references), none of keyvault's.
	sa := roles["SlackadapterRole"]
	require.NotNil(t, sa)
	saResources := map[string][]string{}
	for _, p := range sa.Policies {
		for _, st := range statements(t, p.PolicyDocument) {
			for _, a := range strs(st["Action"]) {
				saResources[a] = append(saResources[a], strs(st["Resource"])...)
			}
		}
	}
	require.Equal(t, map[string][]string{
		"secretsmanager:GetSecretValue": {"arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${Env}/slackadapter/*"},
		"ssm:GetParameter":              {"arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${Env}/slackadapter/*"},
	}, saResources, "slackadapter reads its own secrets, nothing else")
	saKey := tmpl.GetAllIAMPolicyResources()["SlackadapterEnvKeyPolicy"]
	require.NotNil(t, saKey)
	for _, st := range statements(t, saKey.PolicyDocument) {
		require.Equal(t, []string{"kms:Decrypt"}, strs(st["Action"]))
		require.Equal(t, []string{cfnRef("GetAtt", "EnvKey.Arn")}, strs(st["Resource"]), "one key")
		cond, ok := st["Condition"].(map[string]any)
		require.True(t, ok, "conditioned")
		require.Contains(t, cond, "StringEquals", "only via Secrets Manager/SSM")
		require.Contains(t, fmt.Sprint(cond["StringLike"]), "/slackadapter/*", "only for the Slack app's names")
	}

	// The tenant template creates the alias the keyvault role may use.
	tenant := openCFN(t, cfnTenant)
	for _, a := range tenant.GetAllKMSAliasResources() {
		require.True(t, strings.HasPrefix(a.AliasName, "alias/rampart-${Env}-tenant-"), a.AliasName)
	}
	for _, k := range tenant.GetAllKMSKeyResources() {
		var bound bool
		for _, st := range statements(t, k.KeyPolicy) {
			if slices.Contains(strs(st["Action"]), "kms:Decrypt") {
				cond, _ := st["Condition"].(map[string]any)
				eq, _ := cond["StringEquals"].(map[string]any)
				if eq["kms:EncryptionContext:rampart:tenant"] == "{{Ref:TenantId}}" {
					bound = true
					continue
				}
				// Or Secrets Manager for this tenant's own secrets (ADR 0069 §5).
				like, _ := cond["StringLike"].(map[string]any)
				require.Contains(t, fmt.Sprint(eq["kms:ViaService"]), "secretsmanager.", "a tenant key opens only for its tenant's context or through Secrets Manager")
				require.Contains(t, fmt.Sprint(like["kms:EncryptionContext:SecretARN"]), ":secret:rampart/${TenantId}/${Env}/",
					"through Secrets Manager only for this tenant's secrets")
			}
		}
		require.True(t, bound, "a tenant key opens only for its own tenant's encryption context")
	}
}

// TestDeployCloudFormationDataStores: the optional shared state of the
// replicas (issue 16) is an encrypted, Multi-AZ, private PostgreSQL that
// accepts only TLS, and a Multi-AZ Redis with encryption at rest and in
// transit and an AUTH token from Secrets Manager; both reachable on their
// port from the Rampart pods' security group only, and no password in the
// template.
func TestDeployCloudFormationDataStores(t *testing.T) {
	t.Parallel()
	tmpl := openCFN(t, cfnMain)

	dbs := tmpl.GetAllRDSDBInstanceResources()
	require.Len(t, dbs, 1)
	db := dbs["Database"]
	require.NotNil(t, db)
	require.Equal(t, "DataStores", db.AWSCloudFormationCondition, "optional (CreateDataStores)")
	require.Equal(t, "postgres", *db.Engine)
	require.True(t, db.StorageEncrypted != nil && *db.StorageEncrypted, "encrypted at rest")
	require.Equal(t, cfnRef("GetAtt", "DataKey.Arn"), *db.KmsKeyId, "with the stack's key")
	require.True(t, db.MultiAZ != nil && *db.MultiAZ)
	require.True(t, db.PubliclyAccessible != nil && !*db.PubliclyAccessible, "no public address")
	require.True(t, db.DeletionProtection != nil && *db.DeletionProtection)
	require.Equal(t, "Snapshot", string(db.AWSCloudFormationDeletionPolicy), "deleting the stack keeps a snapshot")
	require.True(t, db.ManageMasterUserPassword != nil && *db.ManageMasterUserPassword, "RDS generates and keeps the password")
	require.Nil(t, db.MasterUserPassword, "no password in the template")
	require.NotNil(t, db.DBParameterGroupName)
	pg := tmpl.GetAllRDSDBParameterGroupResources()["DatabaseParameterGroup"]
	require.NotNil(t, pg)
	params, _ := pg.Parameters.(map[string]any)
	require.Equal(t, "1", fmt.Sprint(params["rds.force_ssl"]), "TLS only (encryption in transit)")

	rgs := tmpl.GetAllElastiCacheReplicationGroupResources()
	require.Len(t, rgs, 1)
	rg := rgs["Redis"]
	require.NotNil(t, rg)
	require.Equal(t, "DataStores", rg.AWSCloudFormationCondition)
	require.True(t, rg.AtRestEncryptionEnabled != nil && *rg.AtRestEncryptionEnabled, "encrypted at rest")
	require.Equal(t, cfnRef("GetAtt", "DataKey.Arn"), *rg.KmsKeyId)
	require.True(t, rg.TransitEncryptionEnabled != nil && *rg.TransitEncryptionEnabled, "TLS")
	require.Equal(t, "required", *rg.TransitEncryptionMode, "plain-text connections refused")
	require.True(t, rg.MultiAZEnabled != nil && *rg.MultiAZEnabled && rg.AutomaticFailoverEnabled != nil && *rg.AutomaticFailoverEnabled)
	require.NotNil(t, rg.AuthToken)
	require.Contains(t, *rg.AuthToken, "{{resolve:secretsmanager:", "the AUTH token comes from Secrets Manager")

	sgs := tmpl.GetAllEC2SecurityGroupResources()
	for name, port := range map[string]int{"DatabaseSecurityGroup": 5432, "RedisSecurityGroup": 6379} {
		sg := sgs[name]
		require.NotNil(t, sg, name)
		require.Len(t, sg.SecurityGroupIngress, 1, "%s: one way in", name)
		in := sg.SecurityGroupIngress[0]
		require.Equal(t, "tcp", in.IpProtocol)
		require.Equal(t, port, *in.FromPort)
		require.Equal(t, port, *in.ToPort)
		require.Nil(t, in.CidrIp, "%s: from a security group, not an address range", name)
		// Refs resolve to parameter defaults here: the source is the
		// DataClientSecurityGroupId parameter, a security group id.
		param, ok := tmpl.Parameters["DataClientSecurityGroupId"]
		require.True(t, ok)
		require.Equal(t, fmt.Sprint(param.Default), *in.SourceSecurityGroupId, "%s: from DataClientSecurityGroupId", name)
		require.True(t, param.AllowedPattern != nil && strings.HasPrefix(*param.AllowedPattern, "^(sg-"), "a security group id")
		for _, out := range sg.SecurityGroupEgress {
			require.Equal(t, "127.0.0.1/32", *out.CidrIp, "%s: no egress", name)
		}
	}
	require.Equal(t, []string{cfnRef("GetAtt", "DatabaseSecurityGroup.GroupId")}, db.VPCSecurityGroups)
	require.Equal(t, []string{cfnRef("GetAtt", "RedisSecurityGroup.GroupId")}, rg.SecurityGroupIds)

	secret := tmpl.GetAllSecretsManagerSecretResources()["RedisAuthToken"]
	require.NotNil(t, secret)
	require.NotNil(t, secret.GenerateSecretString, "generated, never written in the template")
	require.Nil(t, secret.SecretString)
	require.Equal(t, cfnRef("GetAtt", "DataKey.Arn"), *secret.KmsKeyId)
	require.NotContains(t, *secret.Name, "rampart/", "outside keyvault's rampart/<tenant>/<env>/ names")
	requireKMSKey(t, "DataKey", tmpl.GetAllKMSKeyResources()["DataKey"])
}

// TestDeployCloudFormationLint runs cfn-lint on both templates when it is
// installed (pip install cfn-lint); it is not available on the CI image,
// where this test skips and the goformation checks above remain.
func TestDeployCloudFormationLint(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint not installed (pip install cfn-lint)")
	}
	out, err := exec.Command(bin, cfnMain, cfnTenant).CombinedOutput()
	require.NoError(t, err, "cfn-lint findings:\n%s", out)
}

// TestDeployK8sKubectlKustomize builds the base and the AWS overlay with
// kubectl's own kustomize (what `kubectl apply -k` runs) when kubectl is
// installed, and requires the same objects as the library build above.
// `kubectl apply --dry-run=client` is not run: it asks an API server for
// discovery even in client mode, and this check is offline.
func TestDeployK8sKubectlKustomize(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	for _, dir := range []string{k8sBase, k8sAWSOverlay} {
		out, err := exec.Command(bin, "kustomize", dir).Output() //nolint:gosec // G204: fixed directories
		require.NoError(t, err, "kubectl kustomize %s", dir)
		got := &manifests{}
		for _, doc := range splitYAML(t, dir, out) {
			got.add(t, dir, doc)
		}
		want := kustomizeBuild(t, dir)
		names := func(m *manifests) []string {
			var n []string
			for _, d := range m.Deployments {
				n = append(n, "Deployment/"+d.Name)
			}
			for _, np := range m.NetworkPolicies {
				n = append(n, "NetworkPolicy/"+np.Name)
			}
			for _, s := range m.Services {
				n = append(n, "Service/"+s.Name)
			}
			for _, j := range m.Jobs {
				n = append(n, "Job/"+j.Name)
			}
			for _, h := range m.HPAs {
				n = append(n, "HPA/"+h.Name)
			}
			for _, b := range m.TGBs {
				n = append(n, "TargetGroupBinding/"+b.Name)
			}
			return n
		}
		require.ElementsMatch(t, names(want), names(got), "%s: kubectl and the library build the same objects", dir)
		for _, d := range got.Deployments {
			require.Equal(t, want.deployment(t, d.Name).Spec.Template.Spec.Containers[0].Env, d.Spec.Template.Spec.Containers[0].Env,
				"%s: %s's environment", dir, d.Name)
		}
	}
}

func requireKMSKey(t *testing.T, name string, k *kms.Key) {
	t.Helper()
	require.True(t, k.EnableKeyRotation != nil && *k.EnableKeyRotation, "%s: automatic key rotation", name)
	require.True(t, k.KeySpec == nil || *k.KeySpec == "SYMMETRIC_DEFAULT")
	require.Equal(t, "Retain", string(k.AWSCloudFormationDeletionPolicy), "%s: deleting the stack must not destroy the key", name)
	for _, st := range statements(t, k.KeyPolicy) {
		actions := strs(st["Action"])
		require.NotContains(t, actions, "kms:*", "%s: no kms:* in the key policy", name)
		principal, _ := st["Principal"].(map[string]any)
		root := strings.HasSuffix(fmt.Sprint(principal["AWS"]), ":root")
		for _, a := range actions {
			crypto := strings.HasPrefix(a, "kms:Decrypt") || strings.HasPrefix(a, "kms:GenerateDataKey") || strings.HasPrefix(a, "kms:Encrypt") || strings.HasPrefix(a, "kms:ReEncrypt")
			if crypto {
				require.False(t, root, "%s: account admins administer the key but cannot use it", name)
				require.Contains(t, st, "Condition", "%s: %s is conditioned", name, a)
			}
		}
	}
}

// ---------------------------------------------------------------- Grafana

// libraryMetrics are registered by libraries pkg/telemetry wires in (checked
// below), not by name in our code. (The grpc_server_* and grpc_client_*
// families are named in pkg/telemetry's GRPCMetrics.)
var libraryMetrics = map[string]string{
	"process_resident_memory_bytes": "collectors.NewProcessCollector",
	"go_goroutines":                 "collectors.NewGoCollector",
}

var (
	metricRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[\{\[]`)
	// Labels that would identify a tenant, a key or a secret.
	forbiddenLabelRE = regexp.MustCompile(`(?i)\b(tenant|tenant_id|key_id|api_key|secret|user|subject)\b`)
)

func collectExprs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "expr" {
				*out = append(*out, s)
				continue
			}
			collectExprs(e, out)
		}
	case []any:
		for _, e := range x {
			collectExprs(e, out)
		}
	}
}

// codeMetricNames returns the string literals in the non-test Go code of
// services/ and pkg/ that look like metric names.
func codeMetricNames(t *testing.T) map[string]bool {
	t.Helper()
	lit := regexp.MustCompile(`"([a-z][a-z0-9_]*_(?:total|seconds|bytes|connected|open|ratio|count|documents))"`)
	names := map[string]bool{}
	for _, dir := range []string{"services", "pkg"} {
		require.NoError(t, filepath.WalkDir(filepath.Join(repoRoot, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			b, err := os.ReadFile(p) //nolint:gosec // the repository's own files
			if err != nil {
				return err
			}
			for _, m := range lit.FindAllSubmatch(b, -1) {
				names[string(m[1])] = true
			}
			return nil
		}))
	}
	return names
}

func TestDeployGrafanaDashboard(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(grafanaDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)

	telemetry, err := os.ReadFile(filepath.Join(repoRoot, "pkg", "telemetry", "metrics.go"))
	require.NoError(t, err)
	known := codeMetricNames(t)

	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var dash struct {
			UID    string           `json:"uid"`
			Title  string           `json:"title"`
			Panels []map[string]any `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(b, &dash), "%s is JSON", f)
		require.NotEmpty(t, dash.UID)
		require.NotEmpty(t, dash.Title)
		require.NotEmpty(t, dash.Panels)
		var raw any
		require.NoError(t, json.Unmarshal(b, &raw))
		var exprs []string
		collectExprs(raw, &exprs)
		require.NotEmpty(t, exprs)

		used := map[string]bool{}
		for _, e := range exprs {
			require.NotRegexp(t, forbiddenLabelRE, e, "no tenant, key or secret identifiers in queries")
			ms := metricRE.FindAllStringSubmatch(e, -1)
			require.NotEmpty(t, ms, "query %q names a metric", e)
			for _, m := range ms {
				used[m[1]] = true
			}
		}
		for name := range used {
			base := name
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(name, suf); ok && (known[b] || libraryMetrics[b] != "") {
					base = b
				}
			}
			if wiring, ok := libraryMetrics[base]; ok {
				require.Contains(t, string(telemetry), wiring, "%s needs %s in pkg/telemetry", base, wiring)
				continue
			}
			require.True(t, known[base], "%s queries %s, which no service registers", filepath.Base(f), base)
		}
		for _, must := range []string{"grpc_server_handled_total", "grpc_server_handling_seconds_bucket"} {
			require.True(t, used[must], "the dashboard shows %s", must)
		}
	}
}
