package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// dockerfile is the final stage of the Dockerfile: each instruction (upper case) with
// its arguments, continuation lines joined.
func dockerfile(t *testing.T) map[string][]string {
	t.Helper()
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(read(t, "../Dockerfile")))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(l, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	out := map[string][]string{}
	for _, l := range lines {
		ins, args, _ := strings.Cut(l, " ")
		ins = strings.ToUpper(ins)
		if ins == "FROM" {
			out = map[string][]string{"FROM": {args}} // a new stage: keep the last one's
			continue
		}
		out[ins] = append(out[ins], args)
	}
	return out
}

func one(t *testing.T, df map[string][]string, ins string) string {
	t.Helper()
	if len(df[ins]) != 1 {
		t.Fatalf("Dockerfile, final stage: %d %s instructions, want 1", len(df[ins]), ins)
	}
	return df[ins][0]
}

func dockerfileUser(t *testing.T) int64 {
	t.Helper()
	uid, _, _ := strings.Cut(one(t, dockerfile(t), "USER"), ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil {
		t.Fatalf("Dockerfile USER %q: want a numeric uid, so that runAsNonRoot can check it", uid)
	}
	return n
}

func dockerfileVolume(t *testing.T) string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(one(t, dockerfile(t), "VOLUME")), &v); err != nil || len(v) != 1 {
		t.Fatalf("Dockerfile VOLUME: want one directory in JSON form (%v)", err)
	}
	return v[0]
}

// TestDockerfile: the final image runs `cartwright serve` as a non-root user, its data
// directory a volume, and exposes the ports the StatefulSet uses.
func TestDockerfile(t *testing.T) {
	df := dockerfile(t)
	if from := one(t, df, "FROM"); from != "scratch" {
		t.Errorf("final stage FROM %s, want scratch (a static binary needs nothing else)", from)
	}
	if e := one(t, df, "ENTRYPOINT"); e != `["cartwright"]` {
		t.Errorf("ENTRYPOINT %s", e)
	}
	if c := one(t, df, "CMD"); c != `["serve"]` {
		t.Errorf("CMD %s", c)
	}
	if u := dockerfileUser(t); u == 0 {
		t.Error("USER is root")
	}
	if !strings.Contains(strings.Join(df["ENV"], " "), "CARTWRIGHT_DATA="+dockerfileVolume(t)) {
		t.Errorf("ENV does not point CARTWRIGHT_DATA at the VOLUME %s", dockerfileVolume(t))
	}
	// The user and the data directory the image's file system (rootfs.sh) creates.
	rootfs := string(read(t, "rootfs.sh"))
	uid := strconv.FormatInt(dockerfileUser(t), 10)
	if !strings.Contains(rootfs, "cartwright:x:"+uid+":"+uid+":") {
		t.Errorf("rootfs.sh writes no /etc/passwd entry for uid %s, the Dockerfile's USER", uid)
	}
	if !strings.Contains(rootfs, `mkdir -p "$out/usr/local/bin" "$out/etc/ssl/certs" "$out`+dockerfileVolume(t)+`"`) {
		t.Errorf("rootfs.sh does not create the VOLUME %s", dockerfileVolume(t))
	}
	m := load(t)
	exposed := strings.Fields(strings.Join(df["EXPOSE"], " "))
	for _, p := range worker(t, m).Ports {
		if !slices.Contains(exposed, strconv.Itoa(int(p.ContainerPort))) {
			t.Errorf("container port %s %d is not EXPOSEd in the Dockerfile", p.Name, p.ContainerPort)
		}
	}
}

// TestNATSValues: the chart's values give a three-node JetStream cluster on file storage,
// and the user and Secret the workers present are the ones the servers know.
func TestNATSValues(t *testing.T) {
	var v struct {
		Config struct {
			Cluster struct {
				Enabled  bool `json:"enabled"`
				Replicas int  `json:"replicas"`
			} `json:"cluster"`
			JetStream struct {
				Enabled   bool `json:"enabled"`
				FileStore struct {
					Enabled bool `json:"enabled"`
					PVC     struct {
						Enabled bool   `json:"enabled"`
						Size    string `json:"size"`
					} `json:"pvc"`
				} `json:"fileStore"`
				MemoryStore struct {
					Enabled bool `json:"enabled"`
				} `json:"memoryStore"`
			} `json:"jetstream"`
			Merge struct {
				Accounts map[string]struct {
					JetStream string `json:"jetstream"`
					Users     []struct {
						User     string `json:"user"`
						Password string `json:"password"`
					} `json:"users"`
				} `json:"accounts"`
			} `json:"merge"`
		} `json:"config"`
		Container struct {
			Env map[string]json.RawMessage `json:"env"`
		} `json:"container"`
	}
	if err := yaml.Unmarshal(read(t, "nats/values.yaml"), &v); err != nil {
		t.Fatal(err)
	}
	c := v.Config
	if !c.Cluster.Enabled || c.Cluster.Replicas != 3 {
		t.Errorf("cluster enabled %v replicas %d: want a three-node cluster", c.Cluster.Enabled, c.Cluster.Replicas)
	}
	if !c.JetStream.Enabled || !c.JetStream.FileStore.Enabled || !c.JetStream.FileStore.PVC.Enabled || c.JetStream.MemoryStore.Enabled {
		t.Error("want JetStream on file storage on a volume, and no memory storage (the group's leases must survive a restart)")
	}
	// A collector target above Go's lets the heap grow to several times the live one:
	// only with a memory limit to bound it (docs/operations.md, "NATS's collections").
	var gogc, limit string
	_ = json.Unmarshal(v.Container.Env["GOGC"], &gogc)
	_ = json.Unmarshal(v.Container.Env["GOMEMLIMIT"], &limit)
	if n, err := strconv.Atoi(gogc); gogc != "" && (err != nil || n > 100) && limit == "" {
		t.Errorf("container.env.GOGC %q without a GOMEMLIMIT to bound the heap", gogc)
	}
	m := load(t)
	cfg := workerConfig(t, m, nil)
	var password string
	for name, a := range c.Merge.Accounts {
		for _, u := range a.Users {
			if u.User == cfg.NATS.User {
				if a.JetStream != "enabled" {
					t.Errorf("account %s of user %s: jetstream %q, want enabled", name, u.User, a.JetStream)
				}
				password = u.Password
			}
		}
	}
	if password == "" {
		t.Fatalf("no NATS user %q (nats.user of the workers' configuration) in config.merge.accounts", cfg.NATS.User)
	}
	// << $VAR >>: the server reads the password from its environment, set from a Secret.
	variable := strings.TrimSuffix(strings.TrimPrefix(password, "<< $"), " >>")
	if variable == password {
		t.Fatalf("the password of %s is written in values.yaml; want << $VAR >> from a Secret", cfg.NATS.User)
	}
	var env struct {
		ValueFrom struct {
			SecretKeyRef struct{ Name, Key string } `json:"secretKeyRef"`
		} `json:"valueFrom"`
	}
	if err := json.Unmarshal(v.Container.Env[variable], &env); err != nil {
		t.Fatalf("container.env.%s: %v", variable, err)
	}
	var worker struct{ Name, Key string }
	for _, e := range m.statefulSet.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "NATS_PASSWORD" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			worker.Name, worker.Key = e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key
		}
	}
	if env.ValueFrom.SecretKeyRef != worker {
		t.Errorf("NATS reads the password from Secret %v, the workers from %v", env.ValueFrom.SecretKeyRef, worker)
	}
}
