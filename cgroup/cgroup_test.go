package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func open(t *testing.T, name string) *FS {
	t.Helper()
	f, err := Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	return f
}

func TestOpenLayouts(t *testing.T) {
	tests := []struct {
		name string
		mode Mode
		// want maps a controller to the mountpoint that carries it.
		want map[string]string
	}{
		{"v1", ModeLegacy, map[string]string{
			"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
			"memory": "/sys/fs/cgroup/memory", "name=systemd": "/sys/fs/cgroup/systemd",
		}},
		{"hybrid", ModeHybrid, map[string]string{
			"cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct",
			"memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids",
			"name=systemd": "/sys/fs/cgroup/systemd", "hugetlb": "/sys/fs/cgroup/unified",
			"": "/sys/fs/cgroup/unified",
		}},
		{"v2", ModeUnified, map[string]string{
			"cpu": "/sys/fs/cgroup", "memory": "/sys/fs/cgroup", "io": "/sys/fs/cgroup",
			"pids": "/sys/fs/cgroup", "": "/sys/fs/cgroup",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := open(t, tt.name)
			if f.Mode() != tt.mode {
				t.Errorf("Mode() = %v, want %v", f.Mode(), tt.mode)
			}
			for c, mnt := range tt.want {
				h, ok := f.Hierarchy(c)
				if !ok || h.Mountpoint != mnt {
					t.Errorf("Hierarchy(%q) = %v %v, want mountpoint %s", c, h.Mountpoint, ok, mnt)
				}
			}
			if tt.mode != ModeUnified {
				if _, ok := f.Hierarchy("io"); ok {
					t.Errorf("io reported on a %v host", tt.mode)
				}
			}
		})
	}
}

func TestOpenCoMounted(t *testing.T) {
	f := open(t, "v1")
	h, _ := f.Hierarchy("cpu")
	if diff := cmp.Diff([]string{"cpu", "cpuacct"}, h.Controllers); diff != "" {
		t.Errorf("co-mounted controllers (-want +got):\n%s", diff)
	}
	if _, ok := f.Hierarchy(""); ok {
		t.Error("a legacy host reports a v2 hierarchy")
	}
}

const mib = 1 << 20

// TestReadWeb reads the same workload group on the three layouts: limits
// and counters must come out in the same units.
func TestReadWeb(t *testing.T) {
	v1Limits := Limits{
		CPU: CPULimits{Quota: LimitOf(20000), Period: Known(100000), Weight: Known(100), Shares: Known(1024),
			Cpus: "0", Mems: "0", EffectiveCpus: "0", EffectiveMems: "0"},
		Memory: MemoryLimits{Max: LimitOf(64 * mib), Low: LimitOf(48 * mib), Swap: Max},
		IO: []IOLimit{{Device: Device{254, 0}, ReadBps: Max, WriteBps: LimitOf(mib),
			ReadIOps: LimitOf(500), WriteIOps: Max}},
		Pids: LimitOf(32),
	}
	tests := []struct {
		layout string
		limits Limits
		procs  uint64
		check  func(t *testing.T, g *Group)
	}{
		{"v2", Limits{
			CPU:    CPULimits{Quota: LimitOf(20000), Period: Known(100000), Weight: Known(100)},
			Memory: MemoryLimits{Max: LimitOf(64 * mib), High: LimitOf(48 * mib), Low: LimitOf(0), Min: LimitOf(0), Swap: Max},
			IO: []IOLimit{{Device: Device{254, 0}, ReadBps: Max, WriteBps: LimitOf(mib),
				ReadIOps: LimitOf(500), WriteIOps: Max}},
			Pids: LimitOf(32),
		}, 2, func(t *testing.T, g *Group) {
			want := CPUStats{Usage: Known(624483), User: Known(620934), System: Known(3548),
				Periods: Known(36), Throttled: Known(31), ThrottledTime: Known(2459988)}
			if diff := cmp.Diff(want, g.Stats.CPU); diff != "" {
				t.Errorf("cpu stats (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]IOStat{{Device: Device{254, 0}, ReadBytes: 77824, WriteBytes: 2 * mib, ReadOps: 3, WriteOps: 4}}, g.Stats.IO); diff != "" {
				t.Errorf("io stats (-want +got):\n%s", diff)
			}
			if g.Stats.Memory.Peak != Known(2174976) || g.Stats.Pids.Current != Known(2) {
				t.Errorf("memory peak %v pids current %v", g.Stats.Memory.Peak, g.Stats.Pids.Current)
			}
			if !g.Stats.Pressure.CPU.OK || g.Stats.Pressure.CPU.Some.Avg10 != 12.49 || g.Stats.Pressure.CPU.Some.Total != 2039293 {
				t.Errorf("cpu pressure = %+v", g.Stats.Pressure.CPU)
			}
		}},
		{"hybrid", v1Limits, 2, func(t *testing.T, g *Group) {
			want := CPUStats{Usage: Known(590567), User: Known(355988), System: Known(227980),
				Periods: Known(37), Throttled: Known(28), ThrottledTime: Known(2152910)}
			if diff := cmp.Diff(want, g.Stats.CPU); diff != "" {
				t.Errorf("cpu stats (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]IOStat{{Device: Device{254, 0}, ReadBytes: 163840, WriteBytes: 2 * mib, ReadOps: 12, WriteOps: 32}}, g.Stats.IO); diff != "" {
				t.Errorf("io stats (-want +got):\n%s", diff)
			}
			if g.Stats.Memory.Peak != Known(2846720) {
				t.Errorf("memory peak = %v", g.Stats.Memory.Peak)
			}
			// Hybrid: pressure comes from the group in the v2 tree.
			if !g.Stats.Pressure.CPU.OK {
				t.Error("no cpu pressure read from the unified hierarchy")
			}
		}},
		{"v1", v1Limits, 2, func(t *testing.T, g *Group) {
			if g.Stats.CPU.Throttled != Known(28) || g.Stats.CPU.Usage != Known(590567) {
				t.Errorf("cpu stats from co-mounted cpu,cpuacct = %+v", g.Stats.CPU)
			}
			if g.Stats.Pressure.CPU.OK {
				t.Error("pressure reported on a legacy host without PSI files")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.layout, func(t *testing.T) {
			g, err := open(t, tt.layout).Read("/ctopfixture/web")
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if diff := cmp.Diff(tt.limits, g.Limits); diff != "" {
				t.Errorf("limits (-want +got):\n%s", diff)
			}
			if g.Procs != Known(tt.procs) {
				t.Errorf("procs = %v, want %d", g.Procs, tt.procs)
			}
			want := Effective{Cores: 0.2, CoresFrom: "/ctopfixture/web", Memory: LimitOf(64 * mib),
				MemFrom: "/ctopfixture/web", Pids: LimitOf(32), PidsFrom: "/ctopfixture/web"}
			if diff := cmp.Diff(want, g.Effective); diff != "" {
				t.Errorf("effective (-want +got):\n%s", diff)
			}
			tt.check(t, g)
		})
	}
}

func TestEvents(t *testing.T) {
	for _, layout := range []string{"v1", "hybrid", "v2"} {
		t.Run(layout, func(t *testing.T) {
			f := open(t, layout)
			oom, err := f.Read("/ctopfixture/oom")
			if err != nil {
				t.Fatal(err)
			}
			if oom.Stats.Memory.Events.OOMKill != Known(1) {
				t.Errorf("oom_kill = %v, want 1", oom.Stats.Memory.Events.OOMKill)
			}
			if !oom.Stats.Memory.Events.Max.OK || oom.Stats.Memory.Events.Max.V == 0 {
				t.Errorf("memory max events = %v, want > 0", oom.Stats.Memory.Events.Max)
			}
			if oom.Limits.Memory.Max != LimitOf(32*mib) {
				t.Errorf("oom memory max = %v", oom.Limits.Memory.Max)
			}
			forky, err := f.Read("/ctopfixture/forky")
			if err != nil {
				t.Fatal(err)
			}
			if forky.Stats.Pids.MaxEvents != Known(1) || forky.Limits.Pids != LimitOf(5) {
				t.Errorf("forky pids: max events %v, max %v", forky.Stats.Pids.MaxEvents, forky.Limits.Pids)
			}
		})
	}
}

func TestScanTreeAndEffective(t *testing.T) {
	for _, layout := range []string{"v1", "hybrid", "v2"} {
		t.Run(layout, func(t *testing.T) {
			f := open(t, layout)
			snap, err := f.Scan(ScanOptions{Path: "/ctopfixture"})
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			var paths []string
			for _, g := range snap.Groups {
				paths = append(paths, g.Path)
			}
			want := []string{"/ctopfixture", "/ctopfixture/forky", "/ctopfixture/idle",
				"/ctopfixture/nested", "/ctopfixture/nested/a", "/ctopfixture/nested/a/b",
				"/ctopfixture/oom", "/ctopfixture/web"}
			if diff := cmp.Diff(want, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			listed, err := f.Paths("ctopfixture", 0)
			if err != nil {
				t.Fatalf("Paths: %v", err)
			}
			if diff := cmp.Diff(want, listed); diff != "" {
				t.Errorf("Paths (-want +got):\n%s", diff)
			}
			shallow, err := f.Scan(ScanOptions{Path: "/ctopfixture", Depth: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(shallow.Groups) != 6 {
				t.Errorf("depth 1: %d groups, want 6", len(shallow.Groups))
			}
			all, err := f.Scan(ScanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if all.Groups[0].Path != "/" || all.Mode != f.Mode() {
				t.Errorf("whole scan starts at %s, mode %v", all.Groups[0].Path, all.Mode)
			}
			for _, g := range all.Groups {
				if g.Path == "/ctopfixture/idle" && (g.Effective.Memory != Max || g.Effective.Cores != 0) {
					t.Errorf("idle effective = %+v, want unlimited", g.Effective)
				}
			}
		})
	}
}

func TestWeights(t *testing.T) {
	// v2 weights as written; v1 shares converted as runc converts them.
	for layout, want := range map[string][2]uint64{"v2": {200, 100}, "hybrid": {sharesToWeight(2048), sharesToWeight(512)}} {
		f := open(t, layout)
		n, _ := f.Read("/ctopfixture/nested")
		b, _ := f.Read("/ctopfixture/nested/a/b")
		if n.Limits.CPU.Weight != Known(want[0]) || b.Limits.CPU.Weight != Known(want[1]) {
			t.Errorf("%s: weights %v %v, want %v", layout, n.Limits.CPU.Weight, b.Limits.CPU.Weight, want)
		}
	}
}

func TestSharesToWeight(t *testing.T) {
	// The anchors of runc's ConvertCPUSharesToCgroupV2Value: minimum,
	// default and maximum map onto each other; between, it grows.
	for shares, want := range map[uint64]uint64{2: 1, 1024: 100, 262144: 10000, 0: 1} {
		if got := sharesToWeight(shares); got != want {
			t.Errorf("sharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
	if a, b := sharesToWeight(512), sharesToWeight(2048); !(1 < a && a < 100 && 100 < b && b < 10000) {
		t.Errorf("weights of 512 and 2048 shares: %d, %d; want either side of 100", a, b)
	}
}

func TestMissingIsNotAvailable(t *testing.T) {
	// The v1 pids root has no pids.max: n/a, neither 0 nor unlimited.
	g, err := open(t, "hybrid").Read("/")
	if err != nil {
		t.Fatal(err)
	}
	if g.Limits.Pids.OK || g.Limits.Memory.High.OK {
		t.Errorf("root pids.max %v, memory.high %v: want n/a", g.Limits.Pids, g.Limits.Memory.High)
	}
	if g.Limits.Memory.Max != Max {
		t.Errorf("root memory limit = %v, want max (v1 page-counter maximum)", g.Limits.Memory.Max)
	}
	if _, err := open(t, "v2").Read("/no/such/group"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read of a missing group: %v, want ErrNotFound", err)
	}
}

func TestParseErrorNamesFileAndText(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "sys/fs/cgroup/bad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mi := "32 23 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
	files := map[string]string{
		"proc/self/mountinfo":                  mi,
		"sys/fs/cgroup/cgroup.controllers":     "memory pids\n",
		"sys/fs/cgroup/bad/cgroup.controllers": "memory pids\n",
		"sys/fs/cgroup/bad/memory.max":         "lots\n",
		"sys/fs/cgroup/bad/pids.max":           "max\n",
	}
	for name, text := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.Read("/bad")
	if !errors.Is(err, ErrParse) || !strings.Contains(err.Error(), "memory.max") || !strings.Contains(err.Error(), `"lots"`) {
		t.Fatalf("Read error = %v, want a parse error naming memory.max and its text", err)
	}
	if g == nil || g.Limits.Pids != Max || len(g.Errors) != 1 {
		t.Errorf("the rest of the group must still be read: %+v", g)
	}
}

func TestParsers(t *testing.T) {
	if l, _ := parseLimit("x", []byte("9223372036854771712\n")); l != Max {
		t.Errorf("v1 unlimited = %v", l)
	}
	if l, _ := parseLimit("x", []byte("-1")); l != Max {
		t.Errorf("-1 = %v", l)
	}
	if q, p, err := parseCPUMax("cpu.max", []byte("max 100000\n")); err != nil || q != Max || p != Known(100000) {
		t.Errorf("cpu.max max = %v %v %v", q, p, err)
	}
	if _, _, err := parseCPUMax("cpu.max", []byte("50000")); !errors.Is(err, ErrParse) {
		t.Errorf("short cpu.max: %v", err)
	}
	hs, err := parseMountinfo(strings.NewReader(
		"40 31 0:37 / /sys/fs/cgroup/with\\040space rw - cgroup cgroup rw,xattr,name=systemd\n" +
			"41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n" +
			"42 31 0:38 / /mnt/again rw - cgroup2 cgroup2 rw,nsdelegate\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Hierarchy{{1, "/sys/fs/cgroup/with space", []string{"name=systemd"}}, {2, "/sys/fs/cgroup/unified", nil}}
	if diff := cmp.Diff(want, hs); diff != "" {
		t.Errorf("mountinfo (-want +got):\n%s", diff)
	}
	if u, sy, err := parseUsageAll("cpuacct.usage_all", []byte("cpu user system\n0 10 20\n1 30 40\n")); err != nil || u != 40 || sy != 60 {
		t.Errorf("usage_all = %d %d %v", u, sy, err)
	}
	if _, _, err := parseUsageAll("cpuacct.usage_all", []byte("0 10 20\n")); !errors.Is(err, ErrParse) {
		t.Errorf("usage_all without header: %v", err)
	}
	p, err := parsePSI("cpu.pressure", []byte("some avg10=1.50 avg60=0.00 avg300=0.00 total=42\n"))
	if err != nil || p.Some.Avg10 != 1.5 || p.Some.Total != 42 || p.Full != (PSILine{}) {
		t.Errorf("psi = %+v %v", p, err)
	}
}

func TestComparePaths(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"/", "/a", -1}, {"/a", "/a/b", -1}, {"/a/b", "/a-b", -1}, {"/b", "/a/z", 1}, {"/a", "/a", 0},
	} {
		if got := ComparePaths(c.a, c.b); got != c.want {
			t.Errorf("ComparePaths(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestRates(t *testing.T) {
	prev := &Group{Stats: Stats{CPU: CPUStats{Usage: Known(1_000_000), Periods: Known(100), Throttled: Known(10), ThrottledTime: Known(0)},
		IO: []IOStat{{Device: Device{8, 0}, WriteBytes: 1000}}}}
	cur := &Group{
		Limits: Limits{CPU: CPULimits{Quota: LimitOf(50000), Period: Known(100000)}, Memory: MemoryLimits{Max: LimitOf(1000)}},
		Stats: Stats{CPU: CPUStats{Usage: Known(1_400_000), Periods: Known(120), Throttled: Known(20), ThrottledTime: Known(500_000)},
			Memory: MemoryStats{Current: Known(250)},
			IO:     []IOStat{{Device: Device{8, 0}, WriteBytes: 3000}}},
	}
	r := NewRates(prev, cur, 2*time.Second)
	want := Rates{
		CPU: F64{20, true}, CPUOfQuota: F64{40, true}, ThrottledPerSec: F64{5, true},
		ThrottledFraction: F64{0.5, true}, ThrottledTime: F64{0.25, true}, Memory: F64{25, true},
		IO: []IORate{{Device: Device{8, 0}, WriteBps: 1000}},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("rates (-want +got):\n%s", diff)
	}
	// A counter that went backwards (group re-created) gives no rate.
	cur.Stats.CPU.Usage = Known(5)
	if NewRates(prev, cur, time.Second).CPU.OK {
		t.Error("rate from a reset counter")
	}
}

// writeTree writes a fixture tree of files under a temporary root.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestHybridControllerOnV2 is a hybrid host booted with cgroup_no_v1=memory:
// memory lives on the v2 tree and must be read there, while CPU usage still
// comes from v1 (the v2 tree's cpu.stat counts other groups' processes).
func TestHybridControllerOnV2(t *testing.T) {
	root := writeTree(t, map[string]string{
		"proc/self/mountinfo": "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n" +
			"41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
		"sys/fs/cgroup/cpu,cpuacct/g/cpu.cfs_quota_us":  "50000\n",
		"sys/fs/cgroup/cpu,cpuacct/g/cpu.cfs_period_us": "100000\n",
		"sys/fs/cgroup/cpu,cpuacct/g/cpuacct.usage":     "7000\n",
		"sys/fs/cgroup/cpu,cpuacct/g/cgroup.procs":      "",
		"sys/fs/cgroup/unified/cgroup.controllers":      "memory\n",
		"sys/fs/cgroup/unified/g/cgroup.controllers":    "memory\n",
		"sys/fs/cgroup/unified/g/cgroup.procs":          "",
		"sys/fs/cgroup/unified/g/memory.max":            "1048576\n",
		"sys/fs/cgroup/unified/g/memory.current":        "4096\n",
		"sys/fs/cgroup/unified/g/cpu.stat":              "usage_usec 999999\n",
	})
	f, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := f.Hierarchy("memory"); f.Mode() != ModeHybrid || h.Version != 2 {
		t.Fatalf("mode %v, memory on v%d", f.Mode(), h.Version)
	}
	g, err := f.Read("/g")
	if err != nil {
		t.Fatal(err)
	}
	if g.Limits.Memory.Max != LimitOf(mib) || g.Stats.Memory.Current != Known(4096) {
		t.Errorf("memory from the v2 tree: max %v, current %v", g.Limits.Memory.Max, g.Stats.Memory.Current)
	}
	if g.Stats.CPU.Usage != Known(7) || g.Limits.CPU.Cores() != 0.5 {
		t.Errorf("cpu from v1: usage %v, cores %v", g.Stats.CPU.Usage, g.Limits.CPU.Cores())
	}
}

func TestIOStatOtherControllersKeys(t *testing.T) {
	s, err := parseIOStat("io.stat", []byte("8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0 cost.vrate=100.00 cost.usage=12 depth=max avg_lat=5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]IOStat{{Device: Device{8, 0}, ReadBytes: 1, WriteBytes: 2, ReadOps: 3, WriteOps: 4}}, s); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := parseIOStat("io.stat", []byte("8:0 rbytes=lots\n")); !errors.Is(err, ErrParse) {
		t.Errorf("bad rbytes: %v", err)
	}
}
