package systemd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
)

// These tests run the installed ctop as a user would on a systemd host,
// where a sandbox is a transient scope (--cgroup-manager systemd, the
// automatic choice here), and check what it made against systemctl and
// the kernel's files.

// sbName is a sandbox name unique to this test process.
func sbName(tag string) string { return fmt.Sprintf("sd%s%d", tag, os.Getpid()) }

// ctopRun runs ctop with args and returns its stdout, stderr and exit
// code (-1 when it could not run).
func ctopRun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ctopBin(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		code = -1
	}
	return out.String(), errb.String(), code
}

// lsEntry is what these tests read of ctop ls --json.
type lsEntry struct {
	Name          string         `json:"name"`
	Pid           *int           `json:"pid"`
	Cgroup        string         `json:"cgroup"`
	CgroupManager string         `json:"cgroup_manager"`
	Unit          *string        `json:"unit"`
	Limits        map[string]any `json:"limits"`
}

func lsSandbox(t *testing.T, name string) (lsEntry, bool) {
	t.Helper()
	var ls []lsEntry
	ctopJSON(t, &ls, "ls", "-a", "--json")
	for _, e := range ls {
		if e.Name == name {
			return e, true
		}
	}
	return lsEntry{}, false
}

// unitsLike lists the loaded units matching pattern, inactive ones too.
func unitsLike(t *testing.T, pattern string) []string {
	t.Helper()
	var units []string
	for _, line := range strings.Split(command(t, "systemctl", "list-units", "--all", "--plain", "--no-legend", "--full", "--no-pager", pattern), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			units = append(units, f[0])
		}
	}
	return units
}

// gone waits until sandbox name has no unit, no group and no state, as
// ctop promises after a stop, a failed start or a killed ctop, and fails
// the test with what is left otherwise.
func gone(t *testing.T, name string) {
	t.Helper()
	unit := "ctop-" + name + ".scope"
	dir := filepath.Join(cgroupRoot, "ctop.slice", unit)
	state := filepath.Join("/run/ctop", name+".json")
	var left []string
	for try := 0; try < 100; try++ {
		left = left[:0]
		if us := unitsLike(t, unit); len(us) > 0 {
			left = append(left, "unit "+strings.Join(us, " "))
		}
		if _, err := os.Stat(dir); err == nil {
			left = append(left, "group "+dir)
		}
		if _, err := os.Stat(state); err == nil {
			left = append(left, "state "+state)
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("sandbox %s: left behind: %s", name, strings.Join(left, ", "))
}

// cleanup removes sandbox name whatever state a failed test left it in.
func cleanup(t *testing.T, name string) {
	t.Cleanup(func() {
		_, _, _ = ctopRun(t, "rm", "-f", name)
		_ = exec.Command("systemctl", "stop", "ctop-"+name+".scope").Run()
		_ = exec.Command("systemctl", "reset-failed", "ctop-"+name+".scope").Run()
	})
}

func requireScopes(t *testing.T) {
	t.Helper()
	requireVM(t)
	if _, err := os.Stat("/run/systemd/private"); err != nil {
		t.Skip("systemd's private socket is missing:", err)
	}
}

// blockDev is the scratch disk's device number, for the IO limits.
func blockDev(t *testing.T) (string, cgroup.Device) {
	t.Helper()
	dev := os.Getenv("CTOP_TEST_BLOCKDEV")
	if dev == "" {
		t.Skip("no CTOP_TEST_BLOCKDEV")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	return dev, cgroup.Device{Major: unix.Major(st.Rdev), Minor: unix.Minor(st.Rdev)}
}

// TestScopeLimits: a detached sandbox under the systemd manager is
// ctop-NAME.scope in ctop.slice, delegated, with each limit as a unit
// property that systemctl show and the kernel's file of the scope's group
// agree on; a live update goes through the unit's properties; stop leaves
// nothing.
func TestScopeLimits(t *testing.T) {
	requireScopes(t)
	name := sbName("lim")
	unit := "ctop-" + name + ".scope"
	cleanup(t, name)
	dev, devNum := blockDev(t)
	_, stderr, code := ctopRun(t, "run", "-d", "--rm", "--name", name,
		"--cpus", "0.5", "--memory", "64m", "--memory-swap", "96m", "--memory-reservation", "16m",
		"--pids-limit", "40", "--cpu-shares", "512", "--cpuset-cpus", "0",
		"--device-read-bps", dev+":1mb", "--device-write-iops", dev+":100",
		"--", "sleep", "300")
	if code != 0 {
		t.Fatalf("ctop run -d: exit %d: %s", code, stderr)
	}
	e, ok := lsSandbox(t, name)
	if !ok {
		t.Fatalf("ctop ls --json has no %s", name)
	}
	p := show(t, unit, "ControlGroup", "Slice", "Delegate", "ActiveState", "CollectMode",
		"MemoryMax", "MemoryLow", "MemorySwapMax", "TasksMax", "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec",
		"CPUWeight", "AllowedCPUs", "IOReadBandwidthMax", "IOWriteIOPSMax")
	want := map[string]string{
		"ControlGroup": "/ctop.slice/" + unit, "Slice": "ctop.slice", "Delegate": "yes", "ActiveState": "active",
		"CollectMode": "inactive-or-failed",
		"MemoryMax":   "67108864", "MemoryLow": "16777216", "MemorySwapMax": "33554432", "TasksMax": "40",
		"CPUQuotaPerSecUSec": "500ms", "CPUQuotaPeriodUSec": "100ms",
		"CPUWeight": strconv.FormatUint(cgroup.CPUWeight(512), 10), "AllowedCPUs": "0",
	}
	// The device as systemd was given it: udev's /dev/block link, or the
	// node itself where there is no udev.
	for k, v := range map[string]string{"IOReadBandwidthMax": " 1048576", "IOWriteIOPSMax": " 100"} {
		node, ok := strings.CutSuffix(p[k], v)
		if !ok || (node != dev && node != "/dev/block/"+devNum.String()) {
			t.Errorf("systemctl show %s -p %s = %q, want %s or /dev/block/%s then%s", unit, k, p[k], dev, devNum, v)
		}
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("systemctl show %s -p %s = %q, want %q", unit, k, p[k], v)
		}
	}
	if e.Cgroup != p["ControlGroup"] || e.CgroupManager != "systemd" || e.Unit == nil || *e.Unit != unit {
		t.Errorf("ctop ls --json: cgroup %q manager %q unit %v, want %s systemd %s", e.Cgroup, e.CgroupManager, e.Unit, p["ControlGroup"], unit)
	}
	dir := filepath.Join(cgroupRoot, p["ControlGroup"])
	io := readTrim(t, filepath.Join(dir, "io.max"))
	for file, v := range map[string]string{
		"memory.max": "67108864", "memory.low": "16777216", "memory.swap.max": "33554432", "pids.max": "40",
		"cpu.max": "50000 100000", "cpu.weight": want["CPUWeight"], "cpuset.cpus": "0",
	} {
		if got := readTrim(t, filepath.Join(dir, file)); got != v {
			t.Errorf("%s/%s = %q, want %q", dir, file, got, v)
		}
	}
	if !strings.Contains(io, devNum.String()+" rbps=1048576") || !strings.Contains(io, "wiops=100") {
		t.Errorf("%s/io.max = %q, want %s rbps=1048576 and wiops=100", dir, io, devNum)
	}
	if e.Pid != nil {
		if got := readTrim(t, fmt.Sprintf("/proc/%d/cgroup", *e.Pid)); got != "0::"+p["ControlGroup"] {
			t.Errorf("/proc/%d/cgroup = %q, want 0::%s", *e.Pid, got, p["ControlGroup"])
		}
	}
	// Inside, the cgroup namespace is rooted at the scope.
	if out, stderr, code := ctopRun(t, "exec", name, "cat", "/proc/self/cgroup"); code != 0 || strings.TrimSpace(out) != "0::/" {
		t.Errorf("ctop exec %s cat /proc/self/cgroup = %q, exit %d (%s), want 0::/", name, out, code, stderr)
	}
	status, _ := exec.Command("systemctl", "status", "--no-pager", unit).Output()
	if !strings.Contains(string(status), unit) || !strings.Contains(string(status), "ctop sandbox "+name) || !strings.Contains(string(status), "sleep 300") {
		t.Errorf("systemctl status %s does not name it, its description and command:\n%s", unit, status)
	}
	if out, _, _ := ctopRun(t, "inspect", name); !strings.Contains(out, "ctop sandbox "+name+" (systemd "+unit+")") {
		t.Errorf("ctop inspect %s does not say it runs under systemd's %s:\n%s", name, unit, out)
	}
	if out, _, _ := ctopRun(t, "ls"); !strings.Contains(out, "MANAGER") || !strings.Contains(out, "systemd") {
		t.Errorf("ctop ls shows no manager:\n%s", out)
	}

	// A live update sets the unit's properties: systemd and the kernel
	// agree after it.
	if _, stderr, code := ctopRun(t, "update", "--memory", "80m", "--pids-limit", "50", "--cpus", "0.25", name); code != 0 {
		t.Fatalf("ctop update: exit %d: %s", code, stderr)
	}
	p = show(t, unit, "MemoryMax", "TasksMax", "CPUQuotaPerSecUSec")
	for k, v := range map[string]string{"MemoryMax": "83886080", "TasksMax": "50", "CPUQuotaPerSecUSec": "250ms"} {
		if p[k] != v {
			t.Errorf("after update: systemctl show -p %s = %q, want %q", k, p[k], v)
		}
	}
	for file, v := range map[string]string{"memory.max": "83886080", "pids.max": "50", "cpu.max": "25000 100000"} {
		if got := readTrim(t, filepath.Join(dir, file)); got != v {
			t.Errorf("after update: %s = %q, want %q", file, got, v)
		}
	}

	if _, stderr, code := ctopRun(t, "stop", "-t", "1", name); code != 0 {
		t.Fatalf("ctop stop: exit %d: %s", code, stderr)
	}
	gone(t, name)
}

// TestScopeForeground: a sandbox in the foreground, its command's view of
// its group, its exit status, an OOM kill, and nothing left after.
func TestScopeForeground(t *testing.T) {
	requireScopes(t)
	name := sbName("fg")
	cleanup(t, name)
	out, stderr, code := ctopRun(t, "run", "--name", name, "--pids-limit", "20", "--", "sh", "-c", "cat /proc/self/cgroup; exit 3")
	if code != 3 || strings.TrimSpace(out) != "0::/" {
		t.Errorf("ctop run: exit %d, output %q (%s), want 3 and 0::/", code, out, stderr)
	}
	gone(t, name)

	// A fork loop meets --pids-limit, and the report says so.
	name = sbName("pids")
	cleanup(t, name)
	_, stderr, _ = ctopRun(t, "run", "--name", name, "--pids-limit", "5", "--", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait")
	if !strings.Contains(stderr, "pids") {
		t.Errorf("ctop run --pids-limit 5 with 8 forks: stderr %q does not report the refused forks", stderr)
	}
	gone(t, name)

	name = sbName("oom")
	cleanup(t, name)
	// tail keeps the line it reads, and /dev/zero has no newline.
	_, stderr, code = ctopRun(t, "run", "--name", name, "--memory", "32m", "--memory-swap", "32m", "--", "tail", "/dev/zero")
	if code != 137 {
		t.Errorf("ctop run --memory 32m tail /dev/zero: exit %d (%s), want 137", code, stderr)
	}
	// systemd removes the scope's group once it is empty, maybe before
	// ctop's last reading: the reading ctop took when the kernel
	// reported the OOM kill stands in.
	if !strings.Contains(stderr, "the OOM killer ended it") {
		t.Errorf("ctop run --memory 32m: stderr %q does not report the OOM kill", stderr)
	}
	gone(t, name)
}

// TestScopeChoice: --cgroup-manager overrides the automatic choice, and a
// cgroup path is no parent for a scope.
func TestScopeChoice(t *testing.T) {
	requireScopes(t)
	name := sbName("fs")
	cleanup(t, name)
	out, stderr, code := ctopRun(t, "run", "--name", name, "--cgroup-manager", "cgroupfs", "--", "cat", "/proc/self/cgroup")
	if code != 0 || strings.TrimSpace(out) != "0::/" {
		t.Errorf("ctop run --cgroup-manager cgroupfs: exit %d, %q (%s)", code, out, stderr)
	}
	if us := unitsLike(t, "ctop-"+name+".scope"); len(us) > 0 {
		t.Errorf("--cgroup-manager cgroupfs made units %v", us)
	}
	_, stderr, code = ctopRun(t, "run", "--cgroup-manager", "systemd", "--cgroup-parent", "/ctop", "--", "true")
	if code != 125 || !strings.Contains(stderr, "--cgroup-parent /ctop") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("--cgroup-manager systemd --cgroup-parent /ctop: exit %d, %q; want 125 and one line naming --cgroup-parent", code, stderr)
	}
	_, stderr, code = ctopRun(t, "run", "--cgroup-manager", "upstart", "--", "true")
	if code != 125 || !strings.Contains(stderr, "--cgroup-manager upstart") {
		t.Errorf("--cgroup-manager upstart: exit %d, %q", code, stderr)
	}
}

// TestScopeKilled: a ctop killed with SIGKILL while it starts a sandbox
// or while the sandbox runs leaves nothing that the next ctop does not
// collect: no unit, no group, no state.
func TestScopeKilled(t *testing.T) {
	requireScopes(t)
	name := sbName("run")
	cleanup(t, name)
	cmd := exec.Command(ctopBin(t), "run", "--name", name, "--", "sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	unit := "ctop-" + name + ".scope"
	for try := 0; ; try++ {
		if e, ok := lsSandbox(t, name); ok && e.Pid != nil {
			break
		}
		if try == 200 {
			_ = cmd.Process.Kill()
			t.Fatalf("%s did not start", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a := show(t, unit, "ActiveState")["ActiveState"]; a != "active" {
		t.Errorf("%s is %s, want active", unit, a)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	_, _, _ = ctopRun(t, "ls") // collects what the killed ctop left
	gone(t, name)

	// Killed at points through its start: after 0, 10, 20, ... ms.
	var names []string
	for i := 0; i < 12; i++ {
		n := sbName(fmt.Sprintf("st%d-", i))
		names = append(names, n)
		cleanup(t, n)
		cmd := exec.Command(ctopBin(t), "run", "--name", n, "--memory", "64m", "--", "sleep", "300")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i) * 10 * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	_, _, _ = ctopRun(t, "ls")
	for _, n := range names {
		gone(t, n)
	}
	left := unitsLike(t, "ctop-sd*")
	if len(left) > 0 {
		t.Errorf("systemctl list-units --all 'ctop-sd*' = %v, want none", left)
	}
}

// TestScopeUpdateUnit: ctop update on a plain unit's group sets the
// unit's properties through systemd, and says so, instead of writing
// behind its back.
func TestScopeUpdateUnit(t *testing.T) {
	requireScopes(t)
	const unit = "ctop-test-limited.service"
	before := show(t, unit, "MemoryMax", "TasksMax")
	t.Cleanup(func() {
		_ = exec.Command("systemctl", "set-property", "--runtime", unit, "MemoryMax="+before["MemoryMax"], "TasksMax="+before["TasksMax"]).Run()
	})
	_, stderr, code := ctopRun(t, "update", "--memory", "80m", "--pids-limit", "33", unit)
	if code != 0 || !strings.Contains(stderr, "set through systemd") || strings.Contains(stderr, "systemctl set-property "+unit) {
		t.Fatalf("ctop update %s: exit %d, %q; want 0 and one line saying systemd set it", unit, code, stderr)
	}
	p := show(t, unit, "MemoryMax", "TasksMax", "ControlGroup")
	if p["MemoryMax"] != "83886080" || p["TasksMax"] != "33" {
		t.Errorf("systemctl show %s after update: MemoryMax %s TasksMax %s, want 83886080 33", unit, p["MemoryMax"], p["TasksMax"])
	}
	dir := filepath.Join(cgroupRoot, p["ControlGroup"])
	if m, n := readTrim(t, filepath.Join(dir, "memory.max")), readTrim(t, filepath.Join(dir, "pids.max")); m != "83886080" || n != "33" {
		t.Errorf("%s: memory.max %s pids.max %s, want 83886080 33", dir, m, n)
	}
}

// TestScopeUser: a user who is not root, with a lingering user manager,
// gets a scope of their own manager, in its ctop.slice.
func TestScopeUser(t *testing.T) {
	requireScopes(t)
	if _, err := os.Stat("/run/user/1000/systemd/private"); err != nil {
		t.Skip("user@1000.service's private socket is missing:", err)
	}
	name := sbName("usr")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func(args ...string) (string, error) {
		a := append([]string{"-u", "tester", "--", "env", "XDG_RUNTIME_DIR=/run/user/1000", ctopBin(t)}, args...)
		out, err := exec.CommandContext(ctx, "runuser", a...).CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { _, _ = run("rm", "-f", name) })
	out, err := run("run", "--name", name, "--cgroup-manager", "systemd", "--pids-limit", "20", "--", "cat", "/proc/self/cgroup")
	if err != nil {
		t.Fatalf("ctop run as tester: %v: %s", err, out)
	}
	if !strings.Contains(out, "0::/") {
		t.Errorf("ctop run as tester: %q, want 0::/", out)
	}
	// While it runs: a detached one, seen from the user's manager.
	if out, err := run("run", "-d", "--rm", "--name", name, "--cgroup-manager", "systemd", "--pids-limit", "20", "--", "sleep", "60"); err != nil {
		t.Fatalf("ctop run -d as tester: %v: %s", err, out)
	}
	var ls []lsEntry
	out, err = run("ls", "--json")
	if err != nil {
		t.Fatalf("ctop ls as tester: %v: %s", err, out)
	}
	if err := json.Unmarshal([]byte(out), &ls); err != nil || len(ls) == 0 {
		t.Fatalf("ctop ls --json as tester: %v: %s", err, out)
	}
	want := "/user.slice/user-1000.slice/user@1000.service/ctop.slice/ctop-" + name + ".scope"
	if ls[0].Cgroup != want || ls[0].CgroupManager != "systemd" {
		t.Errorf("ctop ls --json as tester: cgroup %q manager %q, want %s systemd", ls[0].Cgroup, ls[0].CgroupManager, want)
	}
	if got := readTrim(t, filepath.Join(cgroupRoot, want, "pids.max")); got != "20" {
		t.Errorf("pids.max of the user's scope = %s, want 20", got)
	}
	if out, err := run("stop", "-t", "1", name); err != nil {
		t.Errorf("ctop stop as tester: %v: %s", err, out)
	}
	for try := 0; try < 100; try++ {
		if _, err := os.Stat(filepath.Join(cgroupRoot, want)); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("%s is still there after ctop stop", want)
}
