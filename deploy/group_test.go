package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"sigs.k8s.io/yaml"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// placeholder is what the tests set every Secret's variable to (bridge tokens included:
// at least 16 bytes).
const placeholder = "placeholder-secret-for-the-test"

// TestStatefulSetOnANATSCluster runs what the manifests describe, on this machine: three
// NATS servers with the accounts of deploy/nats/values.yaml (the password read from the
// environment as the chart renders it), and three `cartwright serve` processes with the
// StatefulSet's flags and the ConfigMap's file, only addresses and directories local. The
// workers share the partitions; one stopped with SIGTERM hands its partitions to the two
// others, as a rolling update does.
func TestStatefulSetOnANATSCluster(t *testing.T) {
	m := load(t)
	c := worker(t, m)
	f := flags(t, c)
	const password = "a-password-for-the-test-cluster"
	urls := startChartCluster(t, password)

	cfgFile := filepath.Join(t.TempDir(), "cartwright.yaml")
	if err := os.WriteFile(cfgFile, []byte(m.configMaps["cartwright"].Data["cartwright.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			v := placeholder
			if e.Name == "NATS_PASSWORD" {
				v = password
			}
			env = append(env, e.Name+"="+v)
		}
	}
	partitions := workerConfig(t, m, nil).Partitions

	type proc struct {
		*testenv.Proc
		metrics, bridge string
	}
	var procs []proc
	for i := range 3 {
		id := fmt.Sprintf("%s-%d", m.statefulSet.Name, i)
		local := map[string]string{
			"config": cfgFile, "data": t.TempDir(), "nats-url": urls, "worker-id": id,
			"http-listen": "127.0.0.1:" + strconv.Itoa(freePort(t)), "metrics-listen": "127.0.0.1:" + strconv.Itoa(freePort(t)),
		}
		var args []string
		for name, v := range f {
			if lv, ok := local[name]; ok {
				v = lv
			}
			args = append(args, "--"+name+"="+v)
		}
		p := testenv.StartServeEnv(t, env, args...)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s's log:\n%s", id, p.Output())
			}
		})
		procs = append(procs, proc{Proc: p, metrics: "http://" + local["metrics-listen"] + "/metrics",
			bridge: "http://" + local["http-listen"] + "/a2a/"})
	}

	owned := func(ps []proc) (sum int, each []int) {
		for _, p := range ps {
			n := int(metric(t, p.metrics, "cartwright_partitions_owned"))
			each = append(each, n)
			sum += n
		}
		return sum, each
	}
	waitFor(t, 60*time.Second, func() string {
		sum, each := owned(procs)
		if sum != partitions || min(each[0], each[1], each[2]) < partitions/3 {
			return fmt.Sprintf("partitions owned %v, want %d spread over 3", each, partitions)
		}
		return ""
	})
	// Checkouts through the bridge of every worker, as the Service spreads requests: each
	// worker publishes to A2A_IN and waits for the reply, whichever worker owns the
	// context's partition.
	tenant := ""
	for name := range workerConfig(t, m, nil).Tenants {
		tenant = name
	}
	add := map[string]any{"action": "add_item", "item_id": "sku_widget", "quantity": 1}
	var contexts []string
	for i := range 2 * partitions {
		ctx := fmt.Sprintf("k8s-%d", i)
		via := procs[i%3]
		if r := bridge(t, via.bridge+tenant, ctx, ctx+"-create", map[string]any{"action": "create_checkout"}); r.Code() != "" {
			t.Fatalf("create_checkout %s through %s: %s", ctx, via.bridge, r.Raw)
		}
		if q := widgets(t, bridge(t, via.bridge+tenant, ctx, ctx+"-add", add)); q != 1 {
			t.Fatalf("add_item %s: quantity %d, want 1", ctx, q)
		}
		contexts = append(contexts, ctx)
	}

	sum := func(name string) float64 {
		return metric(t, procs[0].metrics, name) + metric(t, procs[1].metrics, name)
	}
	before, restoredBefore := sum("cartwright_partition_takeovers_total"), sum("cartwright_partition_restore_seconds_count")

	// A rolling update's stop: SIGTERM, a clean exit well within the grace period.
	start := time.Now()
	if err := procs[2].Terminate(); err != nil {
		t.Fatal(err)
	}
	grace := time.Duration(*m.statefulSet.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	if took := time.Since(start); took > grace {
		t.Errorf("SIGTERM to exit: %v, longer than the grace period %v", took, grace)
	}
	// On SIGTERM the loops have stopped before the worker leaves: each partition is
	// released, none lost.
	if out := procs[2].Output(); !strings.Contains(out, "group: partition released") || strings.Contains(out, "partition lost") {
		t.Errorf("the stopped worker's log: want \"group: partition released\" and no \"partition lost\":\n%s", out)
	}
	waitFor(t, 30*time.Second, func() string {
		if sum, each := owned(procs[:2]); sum != partitions {
			return fmt.Sprintf("partitions owned by the two left %v, want %d", each, partitions)
		}
		return ""
	})
	t.Logf("SIGTERM to the two others owning all %d partitions: %v", partitions, time.Since(start).Round(time.Millisecond))
	after := sum("cartwright_partition_takeovers_total")
	if moved := after - before; moved < float64(partitions/3) {
		t.Errorf("takeovers by the two left rose by %v, want at least the %d partitions of the stopped one", moved, partitions/3)
	}
	// With changelog: true every partition taken over is restored before it is served (it
	// counts as owned from its acquisition; its restore follows). Only after the stop: at
	// the start, a partition acquired and handed on during its restore counts a takeover
	// and no restore.
	waitFor(t, 30*time.Second, func() string {
		if restored := sum("cartwright_partition_restore_seconds_count") - restoredBefore; restored < after-before {
			return fmt.Sprintf("%v restores timed for %v takeovers since the stop", restored, after-before)
		}
		return ""
	})
	// The state moved with the partitions: every checkout, those the stopped worker
	// served included, answers from the two left with its line item.
	for i, ctx := range contexts {
		via := procs[i%2]
		if q := widgets(t, bridge(t, via.bridge+tenant, ctx, ctx+"-get", map[string]any{"action": "get_checkout"})); q != 1 {
			t.Errorf("get_checkout %s after the stop: quantity %d, want 1", ctx, q)
		}
	}
	if got := sum("cartwright_partition_fenced_total"); got != 0 {
		t.Errorf("cartwright_partition_fenced_total %v after a clean hand-over, want 0", got)
	}
}

// startChartCluster starts three routed JetStream servers whose configuration is the
// values' config.merge (accounts, system account) as the chart renders it: << $VAR >>
// becomes $VAR, which nats-server reads from its environment. It returns the client URLs.
func startChartCluster(t *testing.T, password string) string {
	t.Helper()
	var v struct {
		Config struct {
			Merge map[string]any `json:"merge"`
		} `json:"config"`
	}
	if err := yaml.Unmarshal(read(t, "nats/values.yaml"), &v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // << >> as the chart writes them
	enc.SetIndent("", "  ")
	if err := enc.Encode(v.Config.Merge); err != nil {
		t.Fatal(err)
	}
	merge := buf.Bytes()
	vars := regexp.MustCompile(`"<< (\$[A-Z_][A-Z0-9_]*) >>"`)
	for _, name := range vars.FindAllStringSubmatch(string(merge), -1) {
		t.Setenv(name[1][1:], password)
	}
	conf := vars.ReplaceAllString(string(merge), "$1")

	const size = 3
	ports, cports, routes := make([]int, size), make([]int, size), make([]string, size)
	for i := range size {
		ports[i], cports[i] = freePort(t), freePort(t)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", cports[i])
	}
	dir := t.TempDir()
	var urls []string
	for i := range size {
		file := filepath.Join(dir, fmt.Sprintf("nats-%d.conf", i))
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		o := bus.EmbeddedOptions("127.0.0.1", ports[i], filepath.Join(dir, fmt.Sprint(i)))
		if err := bus.ApplyConfigFile(o, file); err != nil {
			t.Fatalf("the values' config.merge as nats-server reads it: %v\n%s", err, conf)
		}
		o.ServerName = fmt.Sprintf("nats-%d", i)
		o.Cluster = server.ClusterOpts{Name: "nats", Host: "127.0.0.1", Port: cports[i]}
		o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		s, err := bus.StartEmbedded(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	return strings.Join(urls, ",")
}

// bridge sends one envelope through a worker's HTTP bridge with the tenant's bearer token
// (the placeholder the test set for every Secret).
func bridge(t *testing.T, url, contextID, messageID string, data any) testenv.HTTPReply {
	t.Helper()
	r := testenv.PostRPC(t, url, bytes.NewReader(testenv.Envelope(messageID, contextID, data)),
		map[string]string{"Authorization": "Bearer " + placeholder})
	if r.Status != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, r.Status, r.Raw)
	}
	return r
}

// widgets is the quantity of sku_widget in a checkout reply.
func widgets(t *testing.T, r testenv.HTTPReply) int {
	t.Helper()
	if r.Code() != "" || r.Result == nil || len(r.Result.Parts) == 0 || r.Result.Parts[0].Data == nil || r.Result.Parts[0].Data.Checkout == nil {
		t.Fatalf("not a checkout reply: %s", r.Raw)
	}
	n := 0
	for _, l := range r.Result.Parts[0].Data.Checkout.LineItems {
		if l.Item.ID == "sku_widget" {
			n += l.Quantity
		}
	}
	return n
}

// metric reads one unlabelled sample from a /metrics page (0 when absent).
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return n
		}
	}
	return 0
}

func waitFor(t *testing.T, limit time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
