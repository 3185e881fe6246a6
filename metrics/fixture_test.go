package metrics

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// The fixture trees of the cgroup package: real hosts' files, each tree
// mirroring / (see ../cgroup/testdata/README.md).
const fixtures = "../cgroup/testdata"

// filtered passes on the metrics whose labels satisfy keep, so that a
// test can compare one group's series with CollectAndCompare.
type filtered struct {
	c    prometheus.Collector
	keep func(labels map[string]string) bool
}

func (f filtered) Describe(ch chan<- *prometheus.Desc) { f.c.Describe(ch) }

func (f filtered) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric)
	go func() { f.c.Collect(all); close(all) }()
	for m := range all {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			ch <- m // let the registry report it
			continue
		}
		labels := map[string]string{}
		for _, l := range pb.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if f.keep(labels) {
			ch <- m
		}
	}
}

// onlyGroup passes on the metrics of one cgroup path.
func onlyGroup(c prometheus.Collector, path string) filtered {
	return filtered{c, func(l map[string]string) bool { return l[labelID] == path }}
}

// kernelFile reads one fixture file the way a test reads the kernel's:
// independently of the cgroup package.
func kernelFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// keyed returns the value of key in a flat-keyed file ("key value" lines)
// or, with a prefix ("some"), of key= on that line of a pressure file.
func keyed(t *testing.T, path, line, key string) uint64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(kernelFile(t, path)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if line == "" && f[0] == key && len(f) == 2 {
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, key, err)
			}
			return v
		}
		if line != "" && f[0] == line {
			for _, kv := range f[1:] {
				if k, v, _ := strings.Cut(kv, "="); k == key {
					n, err := strconv.ParseUint(v, 10, 64)
					if err != nil {
						t.Fatalf("%s: %s: %v", path, key, err)
					}
					return n
				}
			}
		}
	}
	t.Fatalf("%s has no %s %s", path, line, key)
	return 0
}

func number(t *testing.T, path string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(kernelFile(t, path), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// layout says where each controller's files of a fixture tree are.
type layout struct {
	cpu, memory, pids, io, psi string // directories under sys/fs/cgroup
	v1                         bool
}

func TestCollectFixtures(t *testing.T) {
	for name, l := range map[string]layout{
		"v1":     {cpu: "cpu,cpuacct", memory: "memory", pids: "pids", io: "blkio", v1: true},
		"hybrid": {cpu: "cpu", memory: "memory", pids: "pids", io: "blkio", psi: "unified", v1: true},
		"v2":     {cpu: ".", memory: ".", pids: ".", io: ".", psi: "."},
	} {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(fixtures, name)
			fs, err := cgroup.Open(root)
			if err != nil {
				t.Fatal(err)
			}
			c := New(Options{Scan: func() (*cgroup.Snapshot, error) {
				return fs.Scan(cgroup.ScanOptions{Path: "/"})
			}})
			dir := func(ctrl, group string) string {
				return filepath.Join(root, "sys/fs/cgroup", ctrl, "ctopfixture", group)
			}

			// web: a busy loop throttled at 0.2 CPUs, a 64M memory limit,
			// pids.max 32.
			cpuStat := filepath.Join(dir(l.cpu, "web"), "cpu.stat")
			var throttledSec, quotaSec float64
			memMax := filepath.Join(dir(l.memory, "web"), "memory.max")
			if l.v1 {
				// nanoseconds; ctop's model keeps whole microseconds
				throttledSec = float64(keyed(t, cpuStat, "", "throttled_time")/1000) / 1e6
				memMax = filepath.Join(dir(l.memory, "web"), "memory.limit_in_bytes")
				quotaSec = float64(number(t, filepath.Join(dir(l.cpu, "web"), "cpu.cfs_quota_us"))) / 1e6
			} else {
				throttledSec = float64(keyed(t, cpuStat, "", "throttled_usec")) / 1e6
				quota, _, _ := strings.Cut(kernelFile(t, filepath.Join(dir(l.cpu, "web"), "cpu.max")), " ")
				q, err := strconv.ParseUint(quota, 10, 64)
				if err != nil {
					t.Fatalf("cpu.max of web: %v", err)
				}
				quotaSec = float64(q) / 1e6
			}
			want := fmt.Sprintf(`
# HELP ctop_cgroup_cpu_cfs_periods_total Enforcement periods elapsed while the group had runnable tasks and a quota (cpu.stat nr_periods).
# TYPE ctop_cgroup_cpu_cfs_periods_total counter
ctop_cgroup_cpu_cfs_periods_total{id="/ctopfixture/web"} %d
# HELP ctop_cgroup_cpu_cfs_throttled_periods_total Periods in which the group was throttled at its quota (cpu.stat nr_throttled).
# TYPE ctop_cgroup_cpu_cfs_throttled_periods_total counter
ctop_cgroup_cpu_cfs_throttled_periods_total{id="/ctopfixture/web"} %d
# HELP ctop_cgroup_cpu_cfs_throttled_seconds_total Total time the group's tasks were throttled (cpu.stat throttled_usec, v1 throttled_time).
# TYPE ctop_cgroup_cpu_cfs_throttled_seconds_total counter
ctop_cgroup_cpu_cfs_throttled_seconds_total{id="/ctopfixture/web"} %v
# HELP ctop_cgroup_spec_cpu_quota_seconds CPU time the group may use per period (cpu.max, v1 cpu.cfs_quota_us); +Inf when unlimited.
# TYPE ctop_cgroup_spec_cpu_quota_seconds gauge
ctop_cgroup_spec_cpu_quota_seconds{id="/ctopfixture/web"} %v
# HELP ctop_cgroup_spec_memory_limit_bytes Hard memory limit (memory.max, v1 memory.limit_in_bytes); +Inf when unlimited.
# TYPE ctop_cgroup_spec_memory_limit_bytes gauge
ctop_cgroup_spec_memory_limit_bytes{id="/ctopfixture/web"} %d
# HELP ctop_cgroup_threads_max Limit on tasks (pids.max); +Inf when unlimited.
# TYPE ctop_cgroup_threads_max gauge
ctop_cgroup_threads_max{id="/ctopfixture/web"} %d
`,
				keyed(t, cpuStat, "", "nr_periods"), keyed(t, cpuStat, "", "nr_throttled"), throttledSec, quotaSec,
				number(t, memMax), number(t, filepath.Join(dir(l.pids, "web"), "pids.max")))
			if err := compareSeries(onlyGroup(c, "/ctopfixture/web"), strings.NewReader(want),
				"ctop_cgroup_cpu_cfs_periods_total", "ctop_cgroup_cpu_cfs_throttled_periods_total",
				"ctop_cgroup_cpu_cfs_throttled_seconds_total", "ctop_cgroup_spec_cpu_quota_seconds",
				"ctop_cgroup_spec_memory_limit_bytes", "ctop_cgroup_threads_max"); err != nil {
				t.Error(err)
			}

			// web's working set: usage less inactive file pages (v2
			// memory.current - inactive_file, v1 usage_in_bytes -
			// total_inactive_file), and its page cache.
			usageFile, inactiveKey, fileKey := "memory.current", "inactive_file", "file"
			if l.v1 {
				usageFile, inactiveKey, fileKey = "memory.usage_in_bytes", "total_inactive_file", "total_cache"
			}
			memStat := filepath.Join(dir(l.memory, "web"), "memory.stat")
			usage := number(t, filepath.Join(dir(l.memory, "web"), usageFile))
			want = fmt.Sprintf(`
# HELP ctop_cgroup_memory_working_set_bytes Memory in use less inactive file pages, floored at 0, as cAdvisor, the kubelet and docker stats count it (memory.current - memory.stat inactive_file, v1 memory.usage_in_bytes - total_inactive_file).
# TYPE ctop_cgroup_memory_working_set_bytes gauge
ctop_cgroup_memory_working_set_bytes{id="/ctopfixture/web"} %d
# HELP ctop_cgroup_memory_cache_bytes Page cache charged to the group (memory.stat file, v1 total_cache).
# TYPE ctop_cgroup_memory_cache_bytes gauge
ctop_cgroup_memory_cache_bytes{id="/ctopfixture/web"} %d
`, usage-keyed(t, memStat, "", inactiveKey), keyed(t, memStat, "", fileKey))
			if err := compareSeries(onlyGroup(c, "/ctopfixture/web"), strings.NewReader(want),
				"ctop_cgroup_memory_working_set_bytes", "ctop_cgroup_memory_cache_bytes"); err != nil {
				t.Error(err)
			}

			// idle's reservation as the kernel says it: v1's default
			// soft limit is unlimited (+Inf), v2's default memory.low 0.
			lowFile, low := "memory.low", "0"
			if l.v1 {
				lowFile, low = "memory.soft_limit_in_bytes", "+Inf"
			}
			if kernelFile(t, filepath.Join(dir(l.memory, "idle"), lowFile)) == "max" {
				low = "+Inf"
			}
			want = `
# HELP ctop_cgroup_spec_memory_reservation_limit_bytes Memory reservation (memory.low, v1 memory.soft_limit_in_bytes) as the kernel has it: +Inf when unlimited (v1's default, no soft limit), 0 for v2's default (no protection).
# TYPE ctop_cgroup_spec_memory_reservation_limit_bytes gauge
ctop_cgroup_spec_memory_reservation_limit_bytes{id="/ctopfixture/idle"} ` + low + "\n"
			if err := compareSeries(onlyGroup(c, "/ctopfixture/idle"), strings.NewReader(want),
				"ctop_cgroup_spec_memory_reservation_limit_bytes"); err != nil {
				t.Error(err)
			}

			// web's write throttle, one "MAJ:MIN" line per device.
			var dev, wbps string
			if l.v1 {
				dev, wbps, _ = strings.Cut(kernelFile(t, filepath.Join(dir(l.io, "web"), "blkio.throttle.write_bps_device")), " ")
			} else {
				f := strings.Fields(kernelFile(t, filepath.Join(dir(l.io, "web"), "io.max")))
				dev = f[0]
				for _, kv := range f[1:] {
					if v, ok := strings.CutPrefix(kv, "wbps="); ok {
						wbps = v
					}
				}
			}
			want = fmt.Sprintf(`
# HELP ctop_cgroup_spec_io_write_bytes_per_second Write throttle on the block device (io.max wbps, v1 blkio.throttle.write_bps_device); +Inf when unlimited.
# TYPE ctop_cgroup_spec_io_write_bytes_per_second gauge
ctop_cgroup_spec_io_write_bytes_per_second{id="/ctopfixture/web",device=%q} %s
`, dev, wbps)
			if err := compareSeries(onlyGroup(c, "/ctopfixture/web"), strings.NewReader(want),
				"ctop_cgroup_spec_io_write_bytes_per_second"); err != nil {
				t.Error(err)
			}

			// oom: one process OOM-killed (memory.events, v1 oom_control).
			oomFile := filepath.Join(dir(l.memory, "oom"), "memory.events")
			if l.v1 {
				oomFile = filepath.Join(dir(l.memory, "oom"), "memory.oom_control")
			}
			want = fmt.Sprintf(`
# HELP ctop_cgroup_memory_events_total Memory limit events (memory.events): low, high (reclaim forced at memory.high), max (memory.max hit), oom, oom_kill.
# TYPE ctop_cgroup_memory_events_total counter
ctop_cgroup_memory_events_total{id="/ctopfixture/oom",event="oom_kill"} %d
`, keyed(t, oomFile, "", "oom_kill"))
			if err := compareSeries(filtered{c, func(l map[string]string) bool {
				return l[labelID] == "/ctopfixture/oom" && l["event"] == "oom_kill" // v1 has no other events
			}}, strings.NewReader(want),
				"ctop_cgroup_memory_events_total"); err != nil {
				t.Error(err)
			}

			// forky: forks refused at pids.max 5.
			want = fmt.Sprintf(`
# HELP ctop_cgroup_pids_max_events_total Forks refused because the group was at pids.max (pids.events max).
# TYPE ctop_cgroup_pids_max_events_total counter
ctop_cgroup_pids_max_events_total{id="/ctopfixture/forky"} %d
`, keyed(t, filepath.Join(dir(l.pids, "forky"), "pids.events"), "", "max"))
			if err := compareSeries(onlyGroup(c, "/ctopfixture/forky"), strings.NewReader(want),
				"ctop_cgroup_pids_max_events_total"); err != nil {
				t.Error(err)
			}

			// Pressure where the kernel has it (v2, and hybrid's unified mount).
			psiSeries := testutil.CollectAndCount(onlyGroup(c, "/ctopfixture/web"), "ctop_cgroup_pressure_cpu_waiting_seconds_total")
			if l.psi == "" {
				if psiSeries != 0 {
					t.Errorf("pressure exported on a host without PSI files: %d series", psiSeries)
				}
			} else {
				psi := filepath.Join(dir(l.psi, "web"), "cpu.pressure")
				want = fmt.Sprintf(`
# HELP ctop_cgroup_pressure_cpu_waiting_seconds_total Total time some tasks waited for CPU (cpu.pressure some total); see Documentation/accounting/psi.rst.
# TYPE ctop_cgroup_pressure_cpu_waiting_seconds_total counter
ctop_cgroup_pressure_cpu_waiting_seconds_total{id="/ctopfixture/web"} %g
# HELP ctop_cgroup_pressure_cpu_stalled_seconds_total Total time all non-idle tasks were stalled on CPU (cpu.pressure full total); see Documentation/accounting/psi.rst.
# TYPE ctop_cgroup_pressure_cpu_stalled_seconds_total counter
ctop_cgroup_pressure_cpu_stalled_seconds_total{id="/ctopfixture/web"} %g
`, float64(keyed(t, psi, "some", "total"))/1e6, float64(keyed(t, psi, "full", "total"))/1e6)
				if err := compareSeries(onlyGroup(c, "/ctopfixture/web"), strings.NewReader(want),
					"ctop_cgroup_pressure_cpu_waiting_seconds_total", "ctop_cgroup_pressure_cpu_stalled_seconds_total"); err != nil {
					t.Error(err)
				}
			}

			// Unlimited is +Inf, never 0 or -1: idle has no memory limit.
			want = `
# HELP ctop_cgroup_spec_memory_limit_bytes Hard memory limit (memory.max, v1 memory.limit_in_bytes); +Inf when unlimited.
# TYPE ctop_cgroup_spec_memory_limit_bytes gauge
ctop_cgroup_spec_memory_limit_bytes{id="/ctopfixture/idle"} +Inf
`
			if err := compareSeries(onlyGroup(c, "/ctopfixture/idle"), strings.NewReader(want),
				"ctop_cgroup_spec_memory_limit_bytes"); err != nil {
				t.Error(err)
			}

			// Every group of the tree is exported once, and the names
			// pass Prometheus's lint.
			snap, _ := fs.Scan(cgroup.ScanOptions{Path: "/"})
			if n := testutil.CollectAndCount(c, "ctop_cgroup_info"); n != len(snap.Groups) {
				t.Errorf("%d groups exported, the tree has %d", n, len(snap.Groups))
			}
			problems, err := testutil.CollectAndLint(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
		})
	}
}
