package sandbox

import (
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

// BenchmarkStartToReapSystemd compares a sandbox's start-to-reap time as
// a systemd scope (two D-Bus connections, the scope's start job, its
// ControlGroup and its stop job) with the same sandbox under cgroupfs,
// alternating, as BenchmarkStartToReap does against unshare. A scope
// needs the re-executed init (it is made around the waiting child), where
// cgroupfs launches this sandbox without one: the third arm, cgroupfs by
// the init, tells the cost of the init (cgroupfs-init-ms over cgroupfs-ms)
// from that of systemd (systemd-ms over cgroupfs-init-ms, ratio-init):
//
//	go test -run '^$' -bench StartToReapSystemd -benchtime 100x ./sandbox
//
// It runs where systemd can have the groups (the systemd test VM).
func BenchmarkStartToReapSystemd(b *testing.B) {
	f := requireSystemd(b)
	quota, mem, pids := cgroup.LimitOf(50000), cgroup.LimitOf(64<<20), cgroup.LimitOf(100)
	spec := Spec{
		Command:    []string{"true"},
		Namespaces: []Namespace{NSPid, NSMount, NSUTS, NSIPC, NSNet},
		Resources: cgroup.Resources{CPU: &cgroup.CPUMax{Quota: quota, Period: 100000},
			MemoryMax: &mem, PidsMax: &pids},
		StateDir: b.TempDir(), Cgroups: f,
	}
	scope, fs := spec, spec
	scope.CgroupManager = ManagerSystemd
	fs.CgroupManager, fs.CgroupParent = ManagerCgroupfs, "/ctop"
	fsInit := fs
	fsInit.viaInit = true
	run := func(s Spec) time.Duration {
		t0 := time.Now()
		sb, err := Start(s)
		if err != nil {
			b.Fatal(err)
		}
		if res, err := sb.Wait(); err != nil || res.ExitCode != 0 {
			b.Fatal(res.ExitCode, err)
		}
		return time.Since(t0)
	}
	var sd, cf, ci []time.Duration
	for b.Loop() {
		sd = append(sd, run(scope))
		cf = append(cf, run(fs))
		ci = append(ci, run(fsInit))
	}
	b.StopTimer()
	s, c, i := median(sd), median(cf), median(ci)
	b.ReportMetric(float64(s)/1e6, "systemd-ms")
	b.ReportMetric(float64(c)/1e6, "cgroupfs-ms")
	b.ReportMetric(float64(i)/1e6, "cgroupfs-init-ms")
	b.ReportMetric(float64(s)/float64(c), "ratio")
	b.ReportMetric(float64(s)/float64(i), "ratio-init")
}
