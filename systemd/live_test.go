package systemd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

// TestLiveScope starts a scope around a process through the caller's
// manager, changes a limit, stops it, and logs what each step took. It
// runs where systemd is the init on cgroup v2 (the systemd test VM).
func TestLiveScope(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if err := Available(); err != nil {
		t.Skip(err)
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.subtree_control"); err != nil {
		t.Skip("not cgroup v2 alone")
	}
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
	ctx := context.Background()
	t0 := time.Now()
	c, err := Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t1 := time.Now()
	unit := UnitName(fmt.Sprintf("ctop-test-%d", os.Getpid()))
	pids := cgroup.LimitOf(7)
	path, err := c.StartScope(ctx, Scope{Unit: unit, Slice: DefaultSlice, Description: "ctop test", PID: sleep.Process.Pid,
		Resources: cgroup.Resources{PidsMax: &pids}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Stop(ctx, unit) }()
	t2 := time.Now()
	if want := "/" + DefaultSlice + "/" + unit; path != want {
		t.Errorf("StartScope = %s, want %s", path, want)
	}
	read := func(file string) string {
		b, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup", path, file))
		return strings.TrimSpace(string(b))
	}
	if got := read("pids.max"); got != "7" {
		t.Errorf("pids.max = %q, want 7", got)
	}
	if got := read("cgroup.procs"); got != fmt.Sprint(sleep.Process.Pid) {
		t.Errorf("cgroup.procs = %q, want the sleep's pid %d", got, sleep.Process.Pid)
	}
	pids = cgroup.LimitOf(9)
	if err := c.SetResources(ctx, unit, cgroup.Resources{PidsMax: &pids}); err != nil {
		t.Fatal(err)
	}
	t3 := time.Now()
	if got := read("pids.max"); got != "9" {
		t.Errorf("pids.max after SetResources = %q, want 9", got)
	}
	if err := c.Stop(ctx, unit); err != nil {
		t.Fatal(err)
	}
	t4 := time.Now()
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", path)); err == nil {
		t.Errorf("%s is still there after Stop", path)
	}
	// Stopping what is gone is done.
	if err := c.Stop(ctx, unit); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	t.Logf("connect %v, start scope %v, set property %v, stop %v", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3))
}
