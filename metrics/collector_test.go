package metrics

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// handBuilt is a snapshot with one group of each kind of reading: every
// value distinct, so a value exported under the wrong name shows.
func handBuilt() *cgroup.Snapshot {
	web := &cgroup.Group{
		Path:        "/ctop/web",
		Controllers: []string{"cpu", "memory", "pids", "io"},
		Procs:       cgroup.Known(3),
		Limits: cgroup.Limits{
			CPU: cgroup.CPULimits{
				Quota:  cgroup.LimitOf(20000),
				Period: cgroup.Known(100000),
				Weight: cgroup.Known(100),
			},
			Memory: cgroup.MemoryLimits{
				Max:  cgroup.LimitOf(64 << 20),
				High: cgroup.LimitOf(48 << 20),
				Low:  cgroup.Max,
				Min:  cgroup.LimitOf(0),
				Swap: cgroup.LimitOf(0),
			},
			IO: []cgroup.IOLimit{{Device: cgroup.Device{Major: 254, Minor: 0},
				ReadBps: cgroup.Max, WriteBps: cgroup.LimitOf(1 << 20), ReadIOps: cgroup.LimitOf(500)}},
			Pids: cgroup.LimitOf(32),
		},
		Effective: cgroup.Effective{Memory: cgroup.LimitOf(64 << 20), Pids: cgroup.LimitOf(32)},
		Stats: cgroup.Stats{
			CPU: cgroup.CPUStats{
				Usage: cgroup.Known(3_500_000), User: cgroup.Known(3_000_000), System: cgroup.Known(500_000),
				Periods: cgroup.Known(36), Throttled: cgroup.Known(31), ThrottledTime: cgroup.Known(2_250_000),
			},
			Memory: cgroup.MemoryStats{
				Current: cgroup.Known(1 << 20), Peak: cgroup.Known(5 << 20), Swap: cgroup.Known(0),
				Events: cgroup.MemoryEvents{
					Low: cgroup.Known(0), High: cgroup.Known(7), Max: cgroup.Known(2),
					OOM: cgroup.Known(1), OOMKill: cgroup.Known(1),
				},
			},
			IO: []cgroup.IOStat{{Device: cgroup.Device{Major: 254, Minor: 0},
				ReadBytes: 4096, WriteBytes: 2 << 20, ReadOps: 1, WriteOps: 512}},
			Pids: cgroup.PidsStats{Current: cgroup.Known(4), MaxEvents: cgroup.Known(9)},
			Pressure: cgroup.Pressure{
				CPU: cgroup.PSI{OK: true, Some: cgroup.PSILine{Total: 1_500_000}, Full: cgroup.PSILine{Total: 1_250_000}},
			},
		},
	}
	// A v1-style group: shares and failcnt, no v2 knobs, unlimited memory.
	legacy := &cgroup.Group{
		Path:        "/ctop/legacy",
		Controllers: []string{"cpu", "memory"},
		Limits: cgroup.Limits{
			CPU:    cgroup.CPULimits{Quota: cgroup.Max, Period: cgroup.Known(100000), Shares: cgroup.Known(1024), Weight: cgroup.Known(100)},
			Memory: cgroup.MemoryLimits{Max: cgroup.Max},
		},
		Effective: cgroup.Effective{Memory: cgroup.Max, Pids: cgroup.Max},
		Stats: cgroup.Stats{
			Memory: cgroup.MemoryStats{Current: cgroup.Known(8192), Failcnt: cgroup.Known(5)},
		},
	}
	root := &cgroup.Group{Path: "/", Controllers: []string{"cpu"}, Procs: cgroup.Known(100)}
	ctop := &cgroup.Group{Path: "/ctop"}
	return &cgroup.Snapshot{Mode: cgroup.ModeUnified, Groups: []*cgroup.Group{root, ctop, web, legacy}}
}

func fixed(s *cgroup.Snapshot, err error) ScanFunc {
	return func() (*cgroup.Snapshot, error) { return s, err }
}

func TestCollectValues(t *testing.T) {
	c := New(Options{Scan: fixed(handBuilt(), nil)})
	want := `
# HELP ctop_cgroup_cpu_usage_seconds_total CPU time consumed by the group and its descendants (cpu.stat usage_usec, v1 cpuacct.usage).
# TYPE ctop_cgroup_cpu_usage_seconds_total counter
ctop_cgroup_cpu_usage_seconds_total{id="/ctop/web"} 3.5
# HELP ctop_cgroup_cpu_cfs_throttled_periods_total Periods in which the group was throttled at its quota (cpu.stat nr_throttled).
# TYPE ctop_cgroup_cpu_cfs_throttled_periods_total counter
ctop_cgroup_cpu_cfs_throttled_periods_total{id="/ctop/web"} 31
# HELP ctop_cgroup_cpu_cfs_throttled_seconds_total Total time the group's tasks were throttled (cpu.stat throttled_usec, v1 throttled_time).
# TYPE ctop_cgroup_cpu_cfs_throttled_seconds_total counter
ctop_cgroup_cpu_cfs_throttled_seconds_total{id="/ctop/web"} 2.25
# HELP ctop_cgroup_cpu_cfs_periods_total Enforcement periods elapsed while the group had runnable tasks and a quota (cpu.stat nr_periods).
# TYPE ctop_cgroup_cpu_cfs_periods_total counter
ctop_cgroup_cpu_cfs_periods_total{id="/ctop/web"} 36
# HELP ctop_cgroup_spec_cpu_quota_seconds CPU time the group may use per period (cpu.max, v1 cpu.cfs_quota_us); +Inf when unlimited.
# TYPE ctop_cgroup_spec_cpu_quota_seconds gauge
ctop_cgroup_spec_cpu_quota_seconds{id="/ctop/legacy"} +Inf
ctop_cgroup_spec_cpu_quota_seconds{id="/ctop/web"} 0.02
# HELP ctop_cgroup_spec_cpu_shares v1 cpu.shares as configured.
# TYPE ctop_cgroup_spec_cpu_shares gauge
ctop_cgroup_spec_cpu_shares{id="/ctop/legacy"} 1024
# HELP ctop_cgroup_memory_usage_bytes Memory in use, page cache included (memory.current, v1 memory.usage_in_bytes).
# TYPE ctop_cgroup_memory_usage_bytes gauge
ctop_cgroup_memory_usage_bytes{id="/ctop/legacy"} 8192
ctop_cgroup_memory_usage_bytes{id="/ctop/web"} 1.048576e+06
# HELP ctop_cgroup_memory_failcnt_total Times memory use hit the limit (v1 memory.failcnt).
# TYPE ctop_cgroup_memory_failcnt_total counter
ctop_cgroup_memory_failcnt_total{id="/ctop/legacy"} 5
# HELP ctop_cgroup_memory_events_total Memory limit events (memory.events): low, high (reclaim forced at memory.high), max (memory.max hit), oom, oom_kill.
# TYPE ctop_cgroup_memory_events_total counter
ctop_cgroup_memory_events_total{id="/ctop/web",event="high"} 7
ctop_cgroup_memory_events_total{id="/ctop/web",event="low"} 0
ctop_cgroup_memory_events_total{id="/ctop/web",event="max"} 2
ctop_cgroup_memory_events_total{id="/ctop/web",event="oom"} 1
ctop_cgroup_memory_events_total{id="/ctop/web",event="oom_kill"} 1
# HELP ctop_cgroup_spec_memory_limit_bytes Hard memory limit (memory.max, v1 memory.limit_in_bytes); +Inf when unlimited.
# TYPE ctop_cgroup_spec_memory_limit_bytes gauge
ctop_cgroup_spec_memory_limit_bytes{id="/ctop/legacy"} +Inf
ctop_cgroup_spec_memory_limit_bytes{id="/ctop/web"} 6.7108864e+07
# HELP ctop_cgroup_spec_memory_reservation_limit_bytes Memory reservation (memory.low, v1 memory.soft_limit_in_bytes) as the kernel has it: +Inf when unlimited (v1's default, no soft limit), 0 for v2's default (no protection).
# TYPE ctop_cgroup_spec_memory_reservation_limit_bytes gauge
ctop_cgroup_spec_memory_reservation_limit_bytes{id="/ctop/web"} +Inf
# HELP ctop_cgroup_spec_memory_swap_limit_bytes Swap limit alone, without memory (memory.swap.max; v1 memsw limit minus limit); +Inf when unlimited.
# TYPE ctop_cgroup_spec_memory_swap_limit_bytes gauge
ctop_cgroup_spec_memory_swap_limit_bytes{id="/ctop/web"} 0
# HELP ctop_cgroup_fs_writes_bytes_total Bytes written to the block device (io.stat wbytes, v1 blkio.throttle.io_service_bytes Write).
# TYPE ctop_cgroup_fs_writes_bytes_total counter
ctop_cgroup_fs_writes_bytes_total{id="/ctop/web",device="254:0"} 2.097152e+06
# HELP ctop_cgroup_fs_writes_total Write operations on the block device (io.stat wios, v1 blkio.throttle.io_serviced Write).
# TYPE ctop_cgroup_fs_writes_total counter
ctop_cgroup_fs_writes_total{id="/ctop/web",device="254:0"} 512
# HELP ctop_cgroup_spec_io_read_bytes_per_second Read throttle on the block device (io.max rbps, v1 blkio.throttle.read_bps_device); +Inf when unlimited.
# TYPE ctop_cgroup_spec_io_read_bytes_per_second gauge
ctop_cgroup_spec_io_read_bytes_per_second{id="/ctop/web",device="254:0"} +Inf
# HELP ctop_cgroup_spec_io_write_bytes_per_second Write throttle on the block device (io.max wbps, v1 blkio.throttle.write_bps_device); +Inf when unlimited.
# TYPE ctop_cgroup_spec_io_write_bytes_per_second gauge
ctop_cgroup_spec_io_write_bytes_per_second{id="/ctop/web",device="254:0"} 1.048576e+06
# HELP ctop_cgroup_spec_io_reads_per_second Read operations throttle on the block device (io.max riops, v1 blkio.throttle.read_iops_device); +Inf when unlimited.
# TYPE ctop_cgroup_spec_io_reads_per_second gauge
ctop_cgroup_spec_io_reads_per_second{id="/ctop/web",device="254:0"} 500
# HELP ctop_cgroup_threads Tasks (processes and threads) in the group and its descendants (pids.current).
# TYPE ctop_cgroup_threads gauge
ctop_cgroup_threads{id="/ctop/web"} 4
# HELP ctop_cgroup_threads_max Limit on tasks (pids.max); +Inf when unlimited.
# TYPE ctop_cgroup_threads_max gauge
ctop_cgroup_threads_max{id="/ctop/web"} 32
# HELP ctop_cgroup_pids_max_events_total Forks refused because the group was at pids.max (pids.events max).
# TYPE ctop_cgroup_pids_max_events_total counter
ctop_cgroup_pids_max_events_total{id="/ctop/web"} 9
# HELP ctop_cgroup_pressure_cpu_waiting_seconds_total Total time some tasks waited for CPU (cpu.pressure some total); see Documentation/accounting/psi.rst.
# TYPE ctop_cgroup_pressure_cpu_waiting_seconds_total counter
ctop_cgroup_pressure_cpu_waiting_seconds_total{id="/ctop/web"} 1.5
# HELP ctop_cgroup_pressure_cpu_stalled_seconds_total Total time all non-idle tasks were stalled on CPU (cpu.pressure full total); see Documentation/accounting/psi.rst.
# TYPE ctop_cgroup_pressure_cpu_stalled_seconds_total counter
ctop_cgroup_pressure_cpu_stalled_seconds_total{id="/ctop/web"} 1.25
# HELP ctop_cgroup_processes Processes in the group itself (cgroup.procs).
# TYPE ctop_cgroup_processes gauge
ctop_cgroup_processes{id="/"} 100
ctop_cgroup_processes{id="/ctop/web"} 3
# HELP ctop_cgroup_mode_info The host's cgroup layout: v1, hybrid or v2 (value 1).
# TYPE ctop_cgroup_mode_info gauge
ctop_cgroup_mode_info{mode="v2"} 1
`
	names := []string{
		"ctop_cgroup_cpu_usage_seconds_total", "ctop_cgroup_cpu_cfs_throttled_periods_total",
		"ctop_cgroup_cpu_cfs_throttled_seconds_total", "ctop_cgroup_cpu_cfs_periods_total",
		"ctop_cgroup_spec_cpu_quota_seconds", "ctop_cgroup_spec_cpu_shares",
		"ctop_cgroup_memory_usage_bytes", "ctop_cgroup_memory_failcnt_total", "ctop_cgroup_memory_events_total",
		"ctop_cgroup_spec_memory_limit_bytes", "ctop_cgroup_spec_memory_reservation_limit_bytes",
		"ctop_cgroup_spec_memory_swap_limit_bytes",
		"ctop_cgroup_fs_writes_bytes_total", "ctop_cgroup_fs_writes_total",
		"ctop_cgroup_spec_io_read_bytes_per_second", "ctop_cgroup_spec_io_write_bytes_per_second",
		"ctop_cgroup_spec_io_reads_per_second",
		"ctop_cgroup_threads", "ctop_cgroup_threads_max", "ctop_cgroup_pids_max_events_total",
		"ctop_cgroup_pressure_cpu_waiting_seconds_total", "ctop_cgroup_pressure_cpu_stalled_seconds_total",
		"ctop_cgroup_processes", "ctop_cgroup_mode_info",
	}
	if err := compareSeries(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// Unavailable readings are absent, not zero: the memory and io
	// pressure files were not there, nor memory.peak on the legacy group.
	for name, n := range map[string]int{
		"ctop_cgroup_pressure_memory_waiting_seconds_total": 0,
		"ctop_cgroup_pressure_io_stalled_seconds_total":     0,
		"ctop_cgroup_memory_max_usage_bytes":                1,
		"ctop_cgroup_spec_memory_high_bytes":                1,
		"ctop_cgroup_info":                                  4,
		"ctop_cgroup_spec_io_writes_per_second":             0, // wiops not available
	} {
		if got := testutil.CollectAndCount(c, name); got != n {
			t.Errorf("%s: %d series, want %d", name, got, n)
		}
	}
}

// TestLint checks every exported name against Prometheus's own naming
// rules (promlint: units, _total on counters, no camel case).
func TestLint(t *testing.T) {
	ns := func() ([]NamespaceCount, error) { return []NamespaceCount{{Type: "net", Namespaces: 2}}, nil }
	c := New(Options{Scan: fixed(handBuilt(), nil), Namespaces: ns})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// clock is a fake time source the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestCollectReusesReadingWithinMaxAge(t *testing.T) {
	scans, counts := 0, 0
	scan := func() (*cgroup.Snapshot, error) { scans++; return handBuilt(), nil }
	ns := func() ([]NamespaceCount, error) { counts++; return nil, nil }
	clk := &clock{t: time.Unix(1000, 0)}
	c := New(Options{Scan: scan, Namespaces: ns, MaxAge: 10 * time.Second, Now: clk.now})

	testutil.CollectAndCount(c)
	clk.t = clk.t.Add(9 * time.Second)
	testutil.CollectAndCount(c)
	if scans != 1 || counts != 1 {
		t.Fatalf("two scrapes within MaxAge: %d scans and %d namespace counts, want 1 each", scans, counts)
	}
	want := `
# HELP ctop_scrape_age_seconds Age of the reading this scrape reports (readings are reused for --interval).
# TYPE ctop_scrape_age_seconds gauge
ctop_scrape_age_seconds 9
`
	if err := compareSeries(c, strings.NewReader(want), "ctop_scrape_age_seconds"); err != nil {
		t.Error(err)
	}
	clk.t = clk.t.Add(time.Second)
	testutil.CollectAndCount(c)
	if scans != 2 || counts != 2 {
		t.Fatalf("a scrape at MaxAge: %d scans and %d namespace counts, want 2 each", scans, counts)
	}
}

func TestCollectWithoutMaxAgeScansEveryScrape(t *testing.T) {
	scans := 0
	scan := func() (*cgroup.Snapshot, error) { scans++; return handBuilt(), nil }
	c := New(Options{Scan: scan})
	for range 3 {
		testutil.CollectAndCount(c)
	}
	if scans != 3 {
		t.Errorf("3 scrapes with MaxAge 0: %d scans, want 3", scans)
	}
}

func TestCollectScanError(t *testing.T) {
	var logbuf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logbuf, nil))
	fail := errors.New("open cgroup layout: no such file or directory")
	c := New(Options{Scan: fixed(nil, fail), Logger: logger})
	testutil.CollectAndCount(c)
	want := `
# HELP ctop_scrape_success Whether the last read of the source succeeded (1) or failed (0).
# TYPE ctop_scrape_success gauge
ctop_scrape_success{source="cgroups"} 0
# HELP ctop_scrape_errors_total Failed reads of the source since ctop serve started.
# TYPE ctop_scrape_errors_total counter
ctop_scrape_errors_total{source="cgroups"} 2
`
	// The second scrape (inside CollectAndCompare) fails again.
	if err := compareSeries(c, strings.NewReader(want), "ctop_scrape_success", "ctop_scrape_errors_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c, "ctop_cgroup_memory_usage_bytes", "ctop_cgroup_mode_info"); n != 0 {
		t.Errorf("failed scan exported %d cgroup series, want none", n)
	}
	if !strings.Contains(logbuf.String(), "level=ERROR") || !strings.Contains(logbuf.String(), fail.Error()) {
		t.Errorf("log does not report the scan error:\n%s", logbuf.String())
	}
}

// TestCollectPartialScan: a snapshot that comes with per-file errors (as
// cgroup.FS.Scan returns it) is exported, the failures counted and logged
// once while they do not change.
func TestCollectPartialScan(t *testing.T) {
	snap := handBuilt()
	snap.Groups[2].Errors = []string{"read memory.max of /ctop/web: permission denied"}
	var logbuf bytes.Buffer
	c := New(Options{
		Scan:   fixed(snap, errors.New("/ctop/web: read memory.max of /ctop/web: permission denied")),
		Logger: slog.New(slog.NewTextHandler(&logbuf, nil)),
	})
	want := `
# HELP ctop_scrape_success Whether the last read of the source succeeded (1) or failed (0).
# TYPE ctop_scrape_success gauge
ctop_scrape_success{source="cgroups"} 1
# HELP ctop_cgroup_file_errors Cgroup files that could not be read or parsed in the last snapshot (see the log).
# TYPE ctop_cgroup_file_errors gauge
ctop_cgroup_file_errors 1
`
	if err := compareSeries(c, strings.NewReader(want), "ctop_scrape_success", "ctop_cgroup_file_errors"); err != nil {
		t.Error(err)
	}
	testutil.CollectAndCount(c)
	if n := testutil.CollectAndCount(c, "ctop_cgroup_memory_usage_bytes"); n != 2 {
		t.Errorf("partial snapshot: %d memory series, want 2", n)
	}
	if n := strings.Count(logbuf.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings for an unchanged failure over 4 scans, want 1:\n%s", n, logbuf.String())
	}
}

func TestCollectDepthBoundsCardinality(t *testing.T) {
	for depth, want := range map[int]int{0: 4, 1: 2, 2: 4, 3: 4} {
		c := New(Options{Scan: fixed(handBuilt(), nil), Depth: depth})
		if got := testutil.CollectAndCount(c, "ctop_cgroup_info"); got != want {
			t.Errorf("depth %d: %d groups, want %d", depth, got, want)
		}
	}
}

func TestDepth(t *testing.T) {
	for path, want := range map[string]int{"/": 0, "": 0, "/a": 1, "/a/b": 2, "/a/b/": 2} {
		if got := depth(path); got != want {
			t.Errorf("depth(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestCollectNamespaces(t *testing.T) {
	ns := func() ([]NamespaceCount, error) {
		return []NamespaceCount{
			{Type: "net", Namespaces: 3, Processes: 120, OutsideHost: 7, HostKnown: true},
			{Type: "pid", Namespaces: 2, Processes: 120, OutsideHost: 4, HostKnown: true},
			{Type: "time", Namespaces: 1, Processes: 120},
		}, nil
	}
	c := New(Options{Scan: fixed(handBuilt(), nil), Namespaces: ns})
	want := `
# HELP ctop_namespaces Distinct namespaces of the type in use by the processes ctop could read (namespaces(7)).
# TYPE ctop_namespaces gauge
ctop_namespaces{type="net"} 3
ctop_namespaces{type="pid"} 2
ctop_namespaces{type="time"} 1
# HELP ctop_namespace_processes_outside_host Processes not in the host's (initial) namespace of the type.
# TYPE ctop_namespace_processes_outside_host gauge
ctop_namespace_processes_outside_host{type="net"} 7
ctop_namespace_processes_outside_host{type="pid"} 4
# HELP ctop_scrape_success Whether the last read of the source succeeded (1) or failed (0).
# TYPE ctop_scrape_success gauge
ctop_scrape_success{source="cgroups"} 1
ctop_scrape_success{source="namespaces"} 1
`
	if err := compareSeries(c, strings.NewReader(want),
		"ctop_namespaces", "ctop_namespace_processes_outside_host", "ctop_scrape_success"); err != nil {
		t.Error(err)
	}

	// A failed count fails its own source only.
	bad := New(Options{Scan: fixed(handBuilt(), nil), Namespaces: func() ([]NamespaceCount, error) {
		return nil, errors.New("read /proc: permission denied")
	}})
	want = `
# HELP ctop_scrape_success Whether the last read of the source succeeded (1) or failed (0).
# TYPE ctop_scrape_success gauge
ctop_scrape_success{source="cgroups"} 1
ctop_scrape_success{source="namespaces"} 0
`
	if err := compareSeries(bad, strings.NewReader(want), "ctop_scrape_success"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(bad, "ctop_namespaces"); n != 0 {
		t.Errorf("failed namespace count exported %d series", n)
	}
}

// TestCollectConcurrentScrapesShareOneScan: scrapes that arrive together
// (two Prometheus servers of an HA pair) wait for one scan, not one each.
func TestCollectConcurrentScrapesShareOneScan(t *testing.T) {
	var scans atomic.Int32
	release := make(chan struct{})
	scan := func() (*cgroup.Snapshot, error) {
		scans.Add(1)
		<-release
		return handBuilt(), nil
	}
	c := New(Options{Scan: scan, MaxAge: time.Hour})
	var wg sync.WaitGroup
	counts := make([]int, 8)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i] = testutil.CollectAndCount(c, "ctop_cgroup_info")
		}()
	}
	close(release)
	wg.Wait()
	if n := scans.Load(); n != 1 {
		t.Errorf("8 concurrent scrapes: %d scans, want 1", n)
	}
	for i, n := range counts {
		if n != 4 {
			t.Errorf("scrape %d saw %d groups, want 4", i, n)
		}
	}
}
