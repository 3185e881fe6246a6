package selftest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const cgroupRoot = "/sys/fs/cgroup"

// inVM reports whether the test runs inside the test VM, where every check
// here must hold rather than skip.
func inVM() bool { return os.Getenv("CTOP_TEST_VM") == "1" }

// requireV2 skips unless /sys/fs/cgroup is a cgroup2 mount; inside the VM it
// fails instead, since the VM exists to be pure v2.
func requireV2(t *testing.T) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		t.Fatalf("statfs %s: %v", cgroupRoot, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return
	}
	if inVM() {
		t.Fatalf("%s has filesystem magic %#x, want cgroup2 (%#x): the VM is not pure v2",
			cgroupRoot, st.Type, unix.CGROUP2_SUPER_MAGIC)
	}
	t.Skipf("%s is not a cgroup2 mount on this host (v1 or hybrid); make test-v2 runs this test in a pure v2 kernel", cgroupRoot)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups")
	}
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestPureV2(t *testing.T) {
	requireV2(t)

	// Pure v2: no v1 hierarchy mounted anywhere.
	for _, line := range strings.Split(readTrim(t, "/proc/self/mountinfo"), "\n") {
		_, after, ok := strings.Cut(line, " - ")
		if ok && strings.HasPrefix(after, "cgroup ") {
			t.Errorf("cgroup v1 hierarchy mounted: %s", line)
		}
	}
	// One line, hierarchy 0, no controller list.
	self := readTrim(t, "/proc/self/cgroup")
	if strings.Contains(self, "\n") || !strings.HasPrefix(self, "0::/") {
		t.Errorf("/proc/self/cgroup = %q, want a single 0::/... line", self)
	}

	have := strings.Fields(readTrim(t, filepath.Join(cgroupRoot, "cgroup.controllers")))
	for _, c := range []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids"} {
		if !contains(have, c) {
			t.Errorf("cgroup.controllers = %q, lacks %s", have, c)
		}
	}
	if !inVM() {
		return
	}
	// The VM's init enables them like systemd does; the tests rely on it.
	enabled := strings.Fields(readTrim(t, filepath.Join(cgroupRoot, "cgroup.subtree_control")))
	for _, c := range []string{"cpuset", "cpu", "io", "memory", "hugetlb", "pids"} {
		if !contains(enabled, c) {
			t.Errorf("root cgroup.subtree_control = %q, lacks %s", enabled, c)
		}
	}
	// cgroup_no_v1=all leaves every v1 controller unbound (hierarchy 0).
	for _, line := range strings.Split(readTrim(t, "/proc/cgroups"), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 2 && f[1] != "0" {
			t.Errorf("/proc/cgroups: controller %s is bound to v1 hierarchy %s", f[0], f[1])
		}
	}
}

// requireEnabled skips unless controller is enabled for the root's
// children; inside the VM it fails instead.
func requireEnabled(t *testing.T, controller string) {
	t.Helper()
	enabled := strings.Fields(readTrim(t, filepath.Join(cgroupRoot, "cgroup.subtree_control")))
	if contains(enabled, controller) {
		return
	}
	if inVM() {
		t.Fatalf("root cgroup.subtree_control = %q, lacks %s", enabled, controller)
	}
	t.Skipf("controller %s is not enabled in the root's cgroup.subtree_control on this host", controller)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// newGroup creates a ctop-test-* cgroup under the root and removes it when
// the test ends, killing what is left in it first.
func newGroup(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(cgroupRoot, "ctop-test-selftest-")
	if err != nil {
		t.Fatalf("create test cgroup: %v", err)
	}
	t.Cleanup(func() {
		// cgroup.kill (5.14+) kills every process in the group.
		_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
		var err error
		for i := 0; i < 100; i++ {
			if err = unix.Rmdir(dir); err == nil || errors.Is(err, unix.ENOENT) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("remove test cgroup %s: %v", dir, err)
	})
	return dir
}

func TestGroupWithMemoryLimit(t *testing.T) {
	requireRoot(t)
	requireV2(t)
	requireEnabled(t, "memory")
	dir := newGroup(t)

	const limit = 64 << 20
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(fmt.Sprint(limit)), 0); err != nil {
		t.Fatalf("write memory.max: %v", err)
	}
	if got := readTrim(t, filepath.Join(dir, "memory.max")); got != fmt.Sprint(limit) {
		t.Errorf("memory.max = %q after writing %d", got, limit)
	}

	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatalf("start sleep: %v", err)
	}
	t.Cleanup(func() {
		_ = sleep.Process.Kill()
		_ = sleep.Wait()
	})
	pid := fmt.Sprint(sleep.Process.Pid)
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(pid), 0); err != nil {
		t.Fatalf("move %s into %s: %v", pid, dir, err)
	}
	want := "0::/" + filepath.Base(dir)
	if got := readTrim(t, "/proc/"+pid+"/cgroup"); got != want {
		t.Errorf("/proc/%s/cgroup = %q, want %q", pid, got, want)
	}
	if got := readTrim(t, filepath.Join(dir, "cgroup.procs")); got != pid {
		t.Errorf("%s/cgroup.procs = %q, want %q", dir, got, pid)
	}
}

// TestScratchDiskIOMax checks that the VM's virtio disk takes an io.max
// limit, which the IO tests of the other packages rely on.
func TestScratchDiskIOMax(t *testing.T) {
	requireRoot(t)
	requireV2(t)
	dev := os.Getenv("CTOP_TEST_BLOCKDEV")
	if dev == "" {
		if inVM() {
			t.Fatal("CTOP_TEST_BLOCKDEV is not set inside the VM: the scratch disk is missing")
		}
		t.Skip("CTOP_TEST_BLOCKDEV is not set; the test VM sets it to its scratch disk")
	}
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		t.Fatalf("stat %s: %v", dev, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		t.Fatalf("%s is not a block device (mode %o)", dev, st.Mode)
	}
	requireEnabled(t, "io")
	majmin := fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	dir := newGroup(t)
	if err := os.WriteFile(filepath.Join(dir, "io.max"), []byte(majmin+" wbps=1048576"), 0); err != nil {
		t.Fatalf("write io.max for %s: %v", majmin, err)
	}
	want := majmin + " rbps=max wbps=1048576 riops=max wiops=max"
	if got := readTrim(t, filepath.Join(dir, "io.max")); got != want {
		t.Errorf("io.max = %q, want %q", got, want)
	}
	if d := os.Getenv("CTOP_TEST_DISKDIR"); d != "" {
		var fs unix.Statfs_t
		if err := unix.Statfs(d, &fs); err != nil {
			t.Errorf("statfs CTOP_TEST_DISKDIR %s: %v", d, err)
		}
	}
}

// TestPivotRoot guards the VM's init: the initramfs root cannot be pivoted
// away from, so init moves it under a mount of its own. A sandbox that
// pivots into a new root must work in the VM as on a real host.
func TestPivotRoot(t *testing.T) {
	requireRoot(t)
	if !inVM() {
		t.Skip("checks the test VM's root mount; runs under make test-v2")
	}
	script := `set -e
mount --make-rprivate /
d=$(mktemp -d)
mount -t tmpfs ctop-test "$d"
mkdir "$d/old"
cd "$d"
pivot_root . old`
	out, err := exec.Command("unshare", "-m", "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("pivot_root in a new mount namespace: %v\n%s", err, out)
	}
}

// TestTools checks that the tools the integration tests call exist in the
// VM, each from a package the harness ships.
func TestTools(t *testing.T) {
	if !inVM() {
		t.Skip("checks the test VM's tools; runs under make test-v2")
	}
	for _, args := range [][]string{
		{"lsns", "--output", "NS,TYPE,PID", "--noheadings"},
		{"unshare", "--pid", "--fork", "--mount-proc", "true"},
		{"sh", "-c", "dd if=/dev/zero of=/dev/null bs=4k count=1 2>/dev/null"},
		{"sleep", "0"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// The harness ships ctop for end-to-end tests when ./cmd/ctop exists.
	if bin := os.Getenv("CTOP_TEST_BIN"); bin != "" {
		if out, err := exec.Command(bin, "--help").CombinedOutput(); err != nil {
			t.Errorf("CTOP_TEST_BIN=%s --help: %v\n%s", bin, err, out)
		}
	}
}

// TestDeliberateFailure fails when CTOP_VM_SELFTEST_FAIL=1, to prove that
// a failing test makes make test-v2 fail.
func TestDeliberateFailure(t *testing.T) {
	if os.Getenv("CTOP_VM_SELFTEST_FAIL") != "1" {
		t.Skip("set CTOP_VM_SELFTEST_FAIL=1 to see make test-v2 fail")
	}
	t.Fatal("failing on request (CTOP_VM_SELFTEST_FAIL=1)")
}
