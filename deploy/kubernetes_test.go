package deploy

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/testenv"
)

// manifests is what deploy/kubernetes holds, each object decoded strictly into its API
// type: a field Kubernetes does not know (a typo, a wrong level) fails the decode, as the
// API server's strict field validation would refuse it.
type manifests struct {
	files       []string // as kustomization.yaml lists them
	statefulSet *appsv1.StatefulSet
	services    map[string]*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	pdbs        []*policyv1.PodDisruptionBudget
	namespaces  []*corev1.Namespace
}

func load(t *testing.T) *manifests {
	t.Helper()
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Resources  []string `json:"resources"`
	}
	strict(t, "kubernetes/kustomization.yaml", read(t, "kubernetes/kustomization.yaml"), &k)
	if k.Kind != "Kustomization" || k.Namespace == "" {
		t.Fatalf("kustomization.yaml: kind %q namespace %q", k.Kind, k.Namespace)
	}
	onDisk, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range onDisk {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(k.Resources, base) {
			t.Errorf("%s is not in kustomization.yaml's resources: `kubectl apply -k` would leave it out", f)
		}
	}
	m := &manifests{files: k.Resources, services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}}
	for _, f := range k.Resources {
		path := filepath.Join("kubernetes", f)
		for i, doc := range bytes.Split(read(t, path), []byte("\n---")) {
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			where := fmt.Sprintf("%s (document %d)", path, i+1)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			switch tm.APIVersion + " " + tm.Kind {
			case "apps/v1 StatefulSet":
				if m.statefulSet != nil {
					t.Fatalf("%s: a second StatefulSet", where)
				}
				m.statefulSet = &appsv1.StatefulSet{}
				strict(t, where, doc, m.statefulSet)
			case "v1 Service":
				s := &corev1.Service{}
				strict(t, where, doc, s)
				m.services[s.Name] = s
			case "v1 ConfigMap":
				c := &corev1.ConfigMap{}
				strict(t, where, doc, c)
				m.configMaps[c.Name] = c
			case "policy/v1 PodDisruptionBudget":
				p := &policyv1.PodDisruptionBudget{}
				strict(t, where, doc, p)
				m.pdbs = append(m.pdbs, p)
			case "v1 Namespace":
				n := &corev1.Namespace{}
				strict(t, where, doc, n)
				m.namespaces = append(m.namespaces, n)
			case "v1 Secret":
				t.Errorf("%s: a Secret in the repository; reference one created in the cluster instead", where)
			default:
				t.Errorf("%s: %s %s is not checked by this test: add it", where, tm.APIVersion, tm.Kind)
			}
		}
	}
	if m.statefulSet == nil {
		t.Fatal("no StatefulSet in deploy/kubernetes")
	}
	return m
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func strict(t *testing.T, where string, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

var commentLine = regexp.MustCompile(`(?m)^\s*#.*$`)

func stripComments(b []byte) []byte { return commentLine.ReplaceAll(b, nil) }

// worker is the StatefulSet's cartwright container.
func worker(t *testing.T, m *manifests) *corev1.Container {
	t.Helper()
	cs := m.statefulSet.Spec.Template.Spec.Containers
	for i := range cs {
		if cs[i].Name == "cartwright" {
			return &cs[i]
		}
	}
	t.Fatal("the StatefulSet has no container named cartwright")
	return nil
}

// flags splits the container's args after "serve" into --name=value pairs.
func flags(t *testing.T, c *corev1.Container) map[string]string {
	t.Helper()
	if len(c.Command) != 0 {
		t.Errorf("command %q replaces the image's ENTRYPOINT [cartwright]; set args only", c.Command)
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %q: want serve first", c.Args)
	}
	out := map[string]string{}
	for _, a := range c.Args[1:] {
		name, value, ok := strings.Cut(a, "=")
		if !strings.HasPrefix(name, "--") || !ok {
			t.Fatalf("arg %q: want --flag=value, one per item", a)
		}
		if _, dup := out[name[2:]]; dup {
			t.Errorf("flag %s given twice", name)
		}
		out[name[2:]] = value
	}
	return out
}

var (
	helpOnce sync.Once
	helpText string
	helpErr  error
)

// serveFlags are the flags `cartwright serve --help` lists, from the binary built from
// this tree (testenv.Binary).
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	helpOnce.Do(func() {
		cmd := exec.Command(testenv.Binary(t), "serve", "--help")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		helpErr = cmd.Run()
		helpText = out.String()
	})
	if helpErr != nil {
		t.Fatalf("cartwright serve --help: %v\n%s", helpErr, helpText)
	}
	got := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z][a-z0-9-]*)`).FindAllStringSubmatch(helpText, -1) {
		got[m[1]] = true
	}
	if !got["nats-url"] || !got["worker-id"] {
		t.Fatalf("serve --help lists no --nats-url or --worker-id: the pattern no longer reads it\n%s", helpText)
	}
	return got
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := load(t)
	if len(m.namespaces) != 1 || len(m.pdbs) != 1 || len(m.configMaps) != 1 || len(m.services) != 2 {
		t.Errorf("want 1 Namespace, 1 PodDisruptionBudget, 1 ConfigMap and 2 Services; have %d, %d, %d, %d",
			len(m.namespaces), len(m.pdbs), len(m.configMaps), len(m.services))
	}
}

// TestStatefulSetFlagsExist: every flag the StatefulSet passes is one `cartwright serve`
// has, and the group's settings are there.
func TestStatefulSetFlagsExist(t *testing.T) {
	m := load(t)
	f := flags(t, worker(t, m))
	known := serveFlags(t)
	for name := range f {
		if !known[name] {
			t.Errorf("--%s: not a flag of cartwright serve", name)
		}
	}
	for _, want := range []string{"nats-url", "replicas", "worker-id", "data", "config", "http-listen"} {
		if _, ok := f[want]; !ok {
			t.Errorf("--%s is not set", want)
		}
	}
	if f["replicas"] != "3" {
		t.Errorf("--replicas=%s: want 3, for the three-node NATS of deploy/nats/values.yaml", f["replicas"])
	}
	if r := m.statefulSet.Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("StatefulSet replicas %v: want 3", r)
	}
}

// TestWorkerIDIsThePodName: each worker's id is its pod's name, which is unique in the
// StatefulSet and the same across restarts, as the group requires.
func TestWorkerIDIsThePodName(t *testing.T) {
	m := load(t)
	c := worker(t, m)
	f := flags(t, c)
	ref := regexp.MustCompile(`^\$\(([A-Z_][A-Z0-9_]*)\)$`).FindStringSubmatch(f["worker-id"])
	if ref == nil {
		t.Fatalf("--worker-id=%s: want $(VAR) of an environment variable set from the pod's name", f["worker-id"])
	}
	var from string
	for _, e := range c.Env {
		if e.Name == ref[1] && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			from = e.ValueFrom.FieldRef.FieldPath
		}
		// Kubernetes expands $(VAR) in args only from variables defined in env.
	}
	if from != "metadata.name" {
		t.Errorf("%s: set from %q, want the field metadata.name", ref[1], from)
	}
	// A StatefulSet's pod names are <name>-<ordinal>: a valid worker id?
	id := m.statefulSet.Name + "-2"
	if cfg := workerConfig(t, m, map[string]string{"worker-id": id}); cfg.WorkerID != id {
		t.Errorf("worker id %q, want %q", cfg.WorkerID, id)
	}
}

// TestProbes: readiness on /readyz and liveness on /healthz, on the port --http-listen
// binds, never the other way round (docs/operations.md, "Health").
func TestProbes(t *testing.T) {
	m := load(t)
	c := worker(t, m)
	f := flags(t, c)
	_, httpPort, err := net.SplitHostPort(f["http-listen"])
	if err != nil {
		t.Fatalf("--http-listen=%s: %v", f["http-listen"], err)
	}
	if host, _, _ := net.SplitHostPort(f["http-listen"]); host != "0.0.0.0" && host != "" {
		t.Errorf("--http-listen=%s: the kubelet probes the pod's address, not loopback", f["http-listen"])
	}
	check := func(name string, p *corev1.Probe, path string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: want an HTTP GET of %s", name, path)
			return
		}
		if p.HTTPGet.Path != path {
			t.Errorf("%s probe: path %s, want %s", name, p.HTTPGet.Path, path)
		}
		if got := containerPort(t, c, p.HTTPGet.Port); strconv.Itoa(int(got)) != httpPort {
			t.Errorf("%s probe: port %d, want %s (--http-listen)", name, got, httpPort)
		}
	}
	check("readiness", c.ReadinessProbe, "/readyz")
	check("liveness", c.LivenessProbe, "/healthz")
	check("startup", c.StartupProbe, "/healthz")
	if ml, ok := f["metrics-listen"]; ok {
		_, mp, err := net.SplitHostPort(ml)
		if err != nil {
			t.Fatalf("--metrics-listen=%s: %v", ml, err)
		}
		if got := containerPort(t, c, intstr.FromString("metrics")); strconv.Itoa(int(got)) != mp {
			t.Errorf("container port metrics %d, want %s (--metrics-listen)", got, mp)
		}
	}
}

func containerPort(t *testing.T, c *corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	t.Errorf("no container port named %q", p.StrVal)
	return 0
}

// TestNonRoot: the worker runs as the image's user, not root, on a read-only root file
// system, without privilege escalation or capabilities.
func TestNonRoot(t *testing.T) {
	m := load(t)
	pod := m.statefulSet.Spec.Template.Spec
	c := worker(t, m)
	psc, csc := pod.SecurityContext, c.SecurityContext
	if psc == nil || csc == nil {
		t.Fatal("want a pod and a container securityContext")
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod: runAsNonRoot is not true")
	}
	user := dockerfileUser(t)
	if psc.RunAsUser == nil || *psc.RunAsUser != user {
		t.Errorf("pod: runAsUser %v, want the image's user %d", psc.RunAsUser, user)
	}
	if psc.FSGroup == nil || *psc.FSGroup != user {
		t.Errorf("pod: fsGroup %v, want %d, so that the worker can write its volume", psc.FSGroup, user)
	}
	if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Error("container: readOnlyRootFilesystem is not true")
	}
	if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Error("container: allowPrivilegeEscalation is not false")
	}
	if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") {
		t.Error("container: capabilities do not drop ALL")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("pod: the worker needs no service account token; automountServiceAccountToken is not false")
	}
}

// TestDataVolume: --data is the mount of a volumeClaimTemplate, one volume per worker,
// the only place a read-only root file system lets it write.
func TestDataVolume(t *testing.T) {
	m := load(t)
	c := worker(t, m)
	data := flags(t, c)["data"]
	var vol string
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == data && !vm.ReadOnly {
			vol = vm.Name
		}
	}
	if vol == "" {
		t.Fatalf("--data=%s is not a writable volume mount", data)
	}
	found := false
	for _, pvc := range m.statefulSet.Spec.VolumeClaimTemplates {
		if pvc.Name == vol {
			found = true
			if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteOnce) {
				t.Errorf("volumeClaimTemplate %s: access modes %v, want ReadWriteOnce", vol, pvc.Spec.AccessModes)
			}
			if pvc.Spec.Resources.Requests.Storage().IsZero() {
				t.Errorf("volumeClaimTemplate %s: no storage request", vol)
			}
		}
	}
	if !found {
		t.Errorf("volume %s of --data is not a volumeClaimTemplate", vol)
	}
	if v := dockerfileVolume(t); v != data {
		t.Errorf("the image's VOLUME is %s, --data is %s", v, data)
	}
}

// TestSelectors: the PodDisruptionBudget, both Services and the StatefulSet select the
// worker pods, and the StatefulSet's serviceName is the headless Service.
func TestSelectors(t *testing.T) {
	m := load(t)
	ss := m.statefulSet
	pods := labels.Set(ss.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(ss.Spec.Selector)
	if err != nil || !sel.Matches(pods) {
		t.Errorf("the StatefulSet's selector %v does not match its pods' labels %v (%v)", ss.Spec.Selector, pods, err)
	}
	for _, p := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(pods) {
			t.Errorf("PodDisruptionBudget %s: selector %v does not match the workers %v (%v)", p.Name, p.Spec.Selector, pods, err)
		}
		if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.String() != "1" || p.Spec.MinAvailable != nil {
			t.Errorf("PodDisruptionBudget %s: maxUnavailable %v minAvailable %v, want maxUnavailable 1 alone",
				p.Name, p.Spec.MaxUnavailable, p.Spec.MinAvailable)
		}
	}
	headless := m.services[ss.Spec.ServiceName]
	if headless == nil || headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("serviceName %q: want a headless Service (clusterIP: None) of that name", ss.Spec.ServiceName)
	}
	c := worker(t, m)
	for name, s := range m.services {
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(pods) {
			t.Errorf("Service %s: selector %v does not match the workers %v", name, s.Spec.Selector, pods)
		}
		for _, p := range s.Spec.Ports {
			if containerPort(t, c, p.TargetPort) == 0 {
				t.Errorf("Service %s: port %s targets %s, which the container does not have", name, p.Name, p.TargetPort.String())
			}
		}
	}
}

// TestHandOverFitsGracePeriod: on SIGTERM a worker finishes the chunk it holds (at most
// the ack wait), then leaves the group (at most 10 s, bus/worker.go); the grace period
// must cover both, or the kill lands before the hand-over and the partitions wait for
// their leases to expire.
func TestHandOverFitsGracePeriod(t *testing.T) {
	m := load(t)
	cfg := workerConfig(t, m, nil)
	const leave = 10 * time.Second
	need := cfg.Batch.AckWait + leave
	g := m.statefulSet.Spec.Template.Spec.TerminationGracePeriodSeconds
	if g == nil || time.Duration(*g)*time.Second < need {
		t.Errorf("terminationGracePeriodSeconds %v: want at least %v (ack wait %v + leave %v)", g, need, cfg.Batch.AckWait, leave)
	}
}

// TestResources: requests set; the Go memory limit of the configuration below the
// container's memory limit, with room for Pebble's C memory.
func TestResources(t *testing.T) {
	m := load(t)
	c := worker(t, m)
	req, lim := c.Resources.Requests, c.Resources.Limits
	if req.Cpu().IsZero() || req.Memory().IsZero() {
		t.Errorf("requests %v: want cpu and memory", req)
	}
	cfg := workerConfig(t, m, nil)
	if cfg.MemoryLimitMiB > 0 {
		memLimit := lim.Memory()
		goLimit := resource.NewQuantity(int64(cfg.MemoryLimitMiB)<<20, resource.BinarySI)
		pebble := resource.NewQuantity(int64(cfg.Store.CacheMiB+2*cfg.Store.MemTableMiB)<<20, resource.BinarySI)
		goLimit.Add(*pebble)
		if memLimit.IsZero() || goLimit.Cmp(*memLimit) >= 0 {
			t.Errorf("memory_limit_mib %d + Pebble's %v: not below the container's limit %v", cfg.MemoryLimitMiB, pebble, memLimit)
		}
	}
}

// TestConfigIsValid: the ConfigMap's configuration file, with the StatefulSet's flags,
// passes cartwright's own Load and Validate; every environment variable it reads a
// secret from is one the container sets, from a Secret, and no Secret is committed.
func TestConfigIsValid(t *testing.T) {
	m := load(t)
	c := worker(t, m)
	cfg := workerConfig(t, m, nil)
	if !cfg.Changelog {
		t.Error("changelog is off: a partition's state would not move with it between workers (docs/workers.md)")
	}
	if cfg.NATS.Embedded() {
		t.Error("no NATS URL: each worker would start an embedded server of its own")
	}
	if cfg.Replicas != 3 {
		t.Errorf("replicas %d, want 3", cfg.Replicas)
	}
	secretEnv := map[string]bool{}
	for _, e := range c.Env {
		if e.Value != "" && regexp.MustCompile(`(?i)password|token|secret`).MatchString(e.Name) {
			t.Errorf("env %s: a secret's value in the manifest; use valueFrom.secretKeyRef", e.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secretEnv[e.Name] = true
		}
	}
	want := []string{"NATS_PASSWORD"}
	for _, refs := range cfg.Bridge.Tokens {
		for _, r := range refs {
			want = append(want, r.Env)
		}
	}
	for _, tn := range cfg.Tenants {
		if h := tn.Providers.Payments.HTTP; h != nil && h.TokenEnv != "" {
			want = append(want, h.TokenEnv)
		}
	}
	for _, name := range want {
		if !secretEnv[name] {
			t.Errorf("the configuration reads %s, which the container does not set from a Secret", name)
		}
	}
	if cfg.NATS.User == "" {
		t.Error("nats.user is empty: NATS_PASSWORD alone authenticates no one")
	}
}

// workerConfig is the configuration one worker of the StatefulSet runs with: the
// ConfigMap's file, then the flags (as `serve` applies them), defaults, and Validate.
// Secrets the configuration names are set to placeholders for the test.
func workerConfig(t *testing.T, m *manifests, override map[string]string) *config.Config {
	t.Helper()
	c := worker(t, m)
	f := flags(t, c)
	for k, v := range override {
		f[k] = v
	}
	path := f["config"]
	var file []byte
	for _, vm := range c.VolumeMounts {
		if !strings.HasPrefix(path, vm.MountPath+"/") {
			continue
		}
		for _, v := range m.statefulSet.Spec.Template.Spec.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil {
				cm := m.configMaps[v.ConfigMap.Name]
				if cm == nil {
					t.Fatalf("volume %s: ConfigMap %s is not in deploy/kubernetes", v.Name, v.ConfigMap.Name)
				}
				key := strings.TrimPrefix(path, vm.MountPath+"/")
				s, ok := cm.Data[key]
				if !ok {
					t.Fatalf("--config=%s: ConfigMap %s has no key %s", path, cm.Name, key)
				}
				file = []byte(s)
			}
		}
	}
	if file == nil {
		t.Fatalf("--config=%s is not in a ConfigMap volume", path)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Setenv(e.Name, placeholder)
		}
	}
	cfg, err := config.Parse(file)
	if err != nil {
		t.Fatalf("the ConfigMap's configuration: %v", err)
	}
	cfg.DataDir = f["data"]
	cfg.NATS.URL = f["nats-url"]
	cfg.HTTPListen = f["http-listen"]
	if v, ok := f["metrics-listen"]; ok {
		cfg.HTTP.MetricsListen = v
	}
	if v, ok := f["worker-id"]; ok && !strings.HasPrefix(v, "$(") {
		cfg.WorkerID = v
	} else {
		cfg.WorkerID = m.statefulSet.Name + "-0"
	}
	if v, ok := f["replicas"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("--replicas=%s: %v", v, err)
		}
		cfg.Replicas = n
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the ConfigMap's configuration with the StatefulSet's flags:\n%v", err)
	}
	return cfg
}
