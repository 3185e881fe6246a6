package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

// BenchmarkStartToReap compares the start-to-reap time of `true` in a
// sandbox with 5 new namespaces and cpu, memory and pids limits against
// util-linux unshare creating the same namespaces without limits. The two
// alternate, so that a machine whose speed drifts during the run (a VM's
// neighbours) slows both alike:
//
//	go test -run '^$' -bench StartToReap -benchtime 500x ./sandbox
//
// ns/op is a pair of runs; ctop-ms and unshare-ms are the medians of each,
// ratio is ctop's median over unshare's (the target is at most 1).
func BenchmarkStartToReap(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		b.Skip("no unshare binary")
	}
	f, err := cgroup.Open("/")
	if err != nil {
		b.Skip(err)
	}
	// The parent is named ctop, as the default one is: each sandbox makes
	// it and removes it, as the only sandbox running does.
	top := fmt.Sprintf("/ctop-test-%d-bench", os.Getpid())
	defer func() {
		if m, err := cgroup.Load(f, top); err == nil {
			_ = m.Kill()
			_ = m.Delete()
		}
	}()
	quota, mem, pids := cgroup.LimitOf(50000), cgroup.LimitOf(64<<20), cgroup.LimitOf(100)
	spec := Spec{
		Command:    []string{"true"},
		Namespaces: []Namespace{NSPid, NSMount, NSUTS, NSIPC, NSNet},
		Resources: cgroup.Resources{CPU: &cgroup.CPUMax{Quota: quota, Period: 100000},
			MemoryMax: &mem, PidsMax: &pids},
		CgroupParent: top + "/ctop", StateDir: b.TempDir(), Cgroups: f,
	}
	var ctop, peer []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		sb, err := Start(spec)
		if err != nil {
			b.Fatal(err)
		}
		if res, err := sb.Wait(); err != nil || res.ExitCode != 0 {
			b.Fatal(res.ExitCode, err)
		}
		t1 := time.Now()
		if err := exec.Command(unshare, "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "true").Run(); err != nil {
			b.Fatal(err)
		}
		ctop, peer = append(ctop, t1.Sub(t0)), append(peer, time.Since(t1))
	}
	b.StopTimer()
	c, u := median(ctop), median(peer)
	b.ReportMetric(float64(c)/1e6, "ctop-ms")
	b.ReportMetric(float64(u)/1e6, "unshare-ms")
	b.ReportMetric(float64(c)/float64(u), "ratio")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkSealedExe: what ctop exec pays for not running ctop's binary
// in the sandbox, a sealed copy of it per exec.
func BenchmarkSealedExe(b *testing.B) {
	for b.Loop() {
		f, err := sealedExe()
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
