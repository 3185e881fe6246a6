package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
)

// The shapes of docs/json.md, written down again independently of the
// types that write them: each listing's output must decode into its shape
// with no field unknown, and have every field the shape has.

type schemaNS struct {
	Type   string `json:"type"`
	Inode  uint64 `json:"inode"`
	Device uint64 `json:"device"`
}

type schemaPsNS struct {
	schemaNS
	Host bool `json:"host"`
}

type schemaPsNamespaces struct {
	Mnt    *schemaPsNS `json:"mnt"`
	Net    *schemaPsNS `json:"net"`
	PID    *schemaPsNS `json:"pid"`
	UTS    *schemaPsNS `json:"uts"`
	IPC    *schemaPsNS `json:"ipc"`
	User   *schemaPsNS `json:"user"`
	Cgroup *schemaPsNS `json:"cgroup"`
	Time   *schemaPsNS `json:"time"`
}

// schemaName is what runs in a group (names.Name): every field, null
// where not known.
type schemaName struct {
	Kind         *string `json:"kind"`
	Runtime      *string `json:"runtime"`
	ID           *string `json:"id"`
	ShortID      *string `json:"short_id"`
	Name         *string `json:"name"`
	Image        *string `json:"image"`
	Project      *string `json:"compose_project"`
	Service      *string `json:"compose_service"`
	Pod          *string `json:"pod"`
	PodNamespace *string `json:"pod_namespace"`
	PodUID       *string `json:"pod_uid"`
	Container    *string `json:"container"`
	QoS          *string `json:"qos"`
	Unit         *string `json:"unit"`
}

type schemaCgroupEntry struct {
	Hierarchy   int      `json:"hierarchy"`
	Controllers []string `json:"controllers"`
	Path        string   `json:"path"`
}

type schemaPs struct {
	Reference *struct {
		PID        int                `json:"pid"`
		Comm       string             `json:"comm"`
		From       map[string]int     `json:"from"`
		Namespaces schemaPsNamespaces `json:"namespaces"`
	} `json:"reference"`
	Processes []struct {
		PID         int                 `json:"pid"`
		PPID        int                 `json:"ppid"`
		NSPID       *int                `json:"nspid"`
		NSpidChain  []int               `json:"nspid_chain"`
		UID         int                 `json:"uid"`
		GID         int                 `json:"gid"`
		User        string              `json:"user"`
		Comm        string              `json:"comm"`
		StartTime   uint64              `json:"start_time"`
		Cgroup      string              `json:"cgroup"`
		Name        *schemaName         `json:"name"`
		Cgroups     []schemaCgroupEntry `json:"cgroups"`
		Namespaces  schemaPsNamespaces  `json:"namespaces"`
		Unavailable []string            `json:"unavailable"`
	} `json:"processes"`
}

type schemaNs struct {
	Namespaces []struct {
		schemaNS
		NProcs      int         `json:"nprocs"`
		PID         int         `json:"pid"`
		User        string      `json:"user"`
		Command     []string    `json:"command"`
		CommandLine string      `json:"command_line"`
		PIDs        []int       `json:"pids"`
		Name        *schemaName `json:"name"`
	} `json:"namespaces"`
}

// The cgroup objects (limits, effective, stats, rates) are cgroup's
// types, which write them.
type schemaCgroups struct {
	Mode        string             `json:"mode"`
	Hierarchies []cgroup.Hierarchy `json:"hierarchies"`
	Time        time.Time          `json:"time"`
	Interval    float64            `json:"interval_seconds"`
	Groups      []struct {
		Path        string           `json:"path"`
		Name        *schemaName      `json:"name"`
		Controllers []string         `json:"controllers"`
		Procs       cgroup.U64       `json:"procs"`
		Limits      cgroup.Limits    `json:"limits"`
		Effective   cgroup.Effective `json:"effective"`
		Stats       cgroup.Stats     `json:"stats"`
		Rates       cgroup.Rates     `json:"rates"`
		Errors      []string         `json:"errors"`
	} `json:"groups"`
}

type schemaInspect struct {
	PID         int      `json:"pid"`
	NSPID       int      `json:"nspid"`
	Command     []string `json:"command"`
	CommandLine string   `json:"command_line"`
	User        string   `json:"user"`
	Reference   struct {
		PID  int    `json:"pid"`
		Comm string `json:"comm"`
	} `json:"reference"`
	Namespaces []struct {
		Type    string    `json:"type"`
		Process *schemaNS `json:"process"`
		Host    *schemaNS `json:"host"`
		Shared  *bool     `json:"shared"`
	} `json:"namespaces"`
	Cgroups []schemaCgroupEntry `json:"cgroups"`
	UIDMap  []nsinfo.IDMapEntry `json:"uid_map"`
	GIDMap  []nsinfo.IDMapEntry `json:"gid_map"`
	Root    string              `json:"root"`
	Seccomp struct {
		Mode    *string `json:"mode"`
		Filters *int    `json:"filters"`
	} `json:"seccomp"`
	Name        *schemaName `json:"name"`
	NameCgroup  *string     `json:"name_cgroup"`
	Unavailable []string    `json:"unavailable"`
	Limits      []struct {
		Controller string           `json:"controller"`
		Cgroup     string           `json:"cgroup"`
		Limits     cgroup.Limits    `json:"limits"`
		Effective  cgroup.Effective `json:"effective"`
		Memory     cgroup.U64       `json:"memory_current"`
		WorkingSet cgroup.U64       `json:"memory_working_set"`
	} `json:"limits"`
}

type schemaLs []struct {
	Name        string    `json:"name"`
	Status      string    `json:"status"`
	Pid         *int      `json:"pid"`
	Created     time.Time `json:"created"`
	Cgroup      string    `json:"cgroup"`
	Command     []string  `json:"command"`
	CommandLine string    `json:"command_line"`
	Namespaces  []string  `json:"namespaces"`
	Hostname    *string   `json:"hostname"`
	Network     string    `json:"network"`
	Rootfs      *string   `json:"rootfs"`
	Overlay     bool      `json:"overlay"`
	Detached    bool      `json:"detached"`
	Log         *string   `json:"log"`
	User        *struct {
		UID uint32 `json:"uid"`
		GID uint32 `json:"gid"`
	} `json:"user"`
	Labels      map[string]string `json:"labels"`
	Remove      bool              `json:"remove"`
	StopSignal  *int              `json:"stop_signal"`
	StopTimeout *float64          `json:"stop_timeout"`
	ExitCode    *int              `json:"exit_code"`
	FinishedAt  *time.Time        `json:"finished_at"`
	Reason      *string           `json:"reason"`
	Limits      map[string]any    `json:"limits"`

	CgroupManager string  `json:"cgroup_manager"`
	Unit          *string `json:"unit"`
}

// schemaStats is one reading of stats --json.
type schemaStats struct {
	Time     time.Time `json:"time"`
	Interval float64   `json:"interval_seconds"`
	Stats    []struct {
		Name          string       `json:"name"`
		Cgroup        string       `json:"cgroup"`
		CPU           cgroup.F64   `json:"cpu_percent"`
		Memory        cgroup.U64   `json:"memory_usage"`
		MemoryLimit   cgroup.Limit `json:"memory_limit"`
		MemoryPercent cgroup.F64   `json:"memory_percent"`
		ReadBps       cgroup.F64   `json:"io_read_bps"`
		WriteBps      cgroup.F64   `json:"io_write_bps"`
		Pids          cgroup.U64   `json:"pids"`
		PidsLimit     cgroup.Limit `json:"pids_limit"`
		Throttled     cgroup.F64   `json:"throttled_percent"`
	} `json:"stats"`
}

// checkSchema decodes out into shape refusing unknown fields, and checks
// that every object of out has every field its shape names (a field left
// out is not null) and that no value is "" (unset is null).
func checkSchema(t *testing.T, what string, out []byte, shape any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(shape); err != nil {
		t.Fatalf("%s does not decode into its documented shape: %v", what, err)
	}
	var generic any
	if err := json.Unmarshal(out, &generic); err != nil {
		t.Fatal(err)
	}
	// Encoding the decoded shape back names every documented field; each
	// must be in the output too.
	back, err := json.Marshal(shape)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(back, &want); err != nil {
		t.Fatal(err)
	}
	missing(t, what, want, generic, "")
	empties(t, what, generic, "")
}

// missing reports the keys of want's objects that got lacks.
func missing(t *testing.T, what string, want, got any, at string) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s: %s.%s is missing", what, at, k)
				continue
			}
			missing(t, what, v, gv, at+"."+k)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return
		}
		for i := range min(len(w), len(g)) {
			missing(t, what, w[i], g[i], at+"["+strconv.Itoa(i)+"]")
		}
	}
}

// empties reports "" values: an unset value is null.
func empties(t *testing.T, what string, v any, at string) {
	t.Helper()
	switch x := v.(type) {
	case string:
		if x == "" {
			t.Errorf("%s: %s is \"\", want null for an unset value", what, at)
		}
	case map[string]any:
		for k, e := range x {
			empties(t, what, e, at+"."+k)
		}
	case []any:
		for i, e := range x {
			empties(t, what, e, at+"["+strconv.Itoa(i)+"]")
		}
	}
}

func TestJSONSchema(t *testing.T) {
	for _, root := range nsFixtures {
		var out, errOut bytes.Buffer
		if err := runPs(&out, psOpts{root: root, json: true}); err != nil {
			t.Fatal(err)
		}
		checkSchema(t, "ps --json of "+root, out.Bytes(), &schemaPs{})
		out.Reset()
		if err := runNs(&out, &errOut, "", nsOpts{root: root, json: true}); err != nil {
			t.Fatal(err)
		}
		checkSchema(t, "ns --json of "+root, out.Bytes(), &schemaNs{})
	}
	// Live: this host's groups and this test's own process.
	out, code, err := ctop(t, "cgroups", "--json", "--depth", "1", "--interval", "100ms")
	if code != 0 {
		t.Fatalf("cgroups --json: exit %d, %v", code, err)
	}
	checkSchema(t, "cgroups --json", []byte(out), &schemaCgroups{})
	out, code, err = ctop(t, "stats", "--no-stream", "--json", "--interval", "100ms", "/")
	if code != 0 {
		t.Fatalf("stats --json: exit %d, %v", code, err)
	}
	var st schemaStats
	checkSchema(t, "stats --json", []byte(out), &st)
	if len(st.Stats) != 1 || st.Stats[0].Cgroup != "/" || !st.Stats[0].CPU.OK || st.Interval != 0.1 {
		t.Errorf("stats --json of /: %s", out)
	}
	out, code, err = ctop(t, "inspect", "--json", strconv.Itoa(os.Getpid()))
	if code != 0 {
		t.Fatalf("inspect --json: exit %d, %v", code, err)
	}
	var in schemaInspect
	checkSchema(t, "inspect --json", []byte(out), &in)
	if len(in.Command) == 0 || in.CommandLine == "" || len(in.Namespaces) != 8 {
		t.Errorf("inspect --json: command %q %q, %d namespaces", in.Command, in.CommandLine, len(in.Namespaces))
	}

	// An exited sandbox's record, as a detached sandbox leaves it.
	state := t.TempDir()
	code3 := 3
	rec := fmt.Sprintf(`{"name":"old","pid":0,"created":%q,"cgroup":"/ctop-test-none/old","command":["sh","-c","exit 3"],
		"namespaces":["pid","mnt"],"network":"none","labels":{"team":"web"},"status":"exited","exit_code":%d,"finished_at":%q,"reason":null}`,
		time.Now().Add(-time.Minute).Format(time.RFC3339), code3, time.Now().Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(state, "old.json"), []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	// One that ran as a systemd scope.
	rec = strings.Replace(strings.Replace(rec, `"name":"old"`, `"name":"scoped"`, 1), `"cgroup":"/ctop-test-none/old"`,
		`"cgroup":"/ctop.slice/ctop-scoped.scope","cgroup_manager":"systemd","unit":"ctop-scoped.scope"`, 1)
	if err := os.WriteFile(filepath.Join(state, "scoped.json"), []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code, err = ctop(t, "ls", "-a", "--json", "--state-dir", state, "--cgroup-parent", "/ctop-test-none")
	if code != 0 {
		t.Fatalf("ls --json: exit %d, %v", code, err)
	}
	var ls schemaLs
	checkSchema(t, "ls --json", []byte(out), &ls)
	if len(ls) != 2 || ls[0].CommandLine != "sh -c exit 3" || ls[0].Pid != nil || ls[0].Hostname != nil || ls[0].ExitCode == nil || *ls[0].ExitCode != 3 {
		t.Errorf("ls --json: %s", out)
	} else if ls[0].CgroupManager != "cgroupfs" || ls[0].Unit != nil || ls[1].CgroupManager != "systemd" || ls[1].Unit == nil || *ls[1].Unit != "ctop-scoped.scope" {
		t.Errorf("ls --json: managers and units: %s", out)
	}
}
