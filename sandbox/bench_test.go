package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
)

// BenchmarkStartToReap compares the start-to-reap time of `true` in a
// sandbox with 5 new namespaces and cpu, memory and pids limits against
// util-linux unshare creating the same namespaces without limits:
//
//	go test -run '^$' -bench StartToReap -benchtime 200x ./sandbox
func BenchmarkStartToReap(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	b.Run("ctop", func(b *testing.B) {
		f, err := cgroup.Open("/")
		if err != nil {
			b.Skip(err)
		}
		parent := fmt.Sprintf("/ctop-test-%d-bench", os.Getpid())
		state := b.TempDir()
		defer func() {
			if m, err := cgroup.Load(f, parent); err == nil {
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
			CgroupParent: parent, StateDir: state,
		}
		b.ResetTimer()
		for b.Loop() {
			sb, err := Start(spec)
			if err != nil {
				b.Fatal(err)
			}
			if res, err := sb.Wait(); err != nil || res.ExitCode != 0 {
				b.Fatal(res.ExitCode, err)
			}
		}
	})
	b.Run("unshare", func(b *testing.B) {
		path, err := exec.LookPath("unshare")
		if err != nil {
			b.Skip("no unshare binary")
		}
		for b.Loop() {
			if err := exec.Command(path, "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
