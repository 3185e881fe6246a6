package sandbox

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
)

// These are root integration tests on the real kernel. They run on cgroup
// v1, hybrid and v2 hosts alike and skip, saying why, where the host lacks
// what they need. Run them one package at a time: some measure the kernel
// (CPU share, IO rate) and want a quiet machine.

func limit(v uint64) *cgroup.Limit { l := cgroup.LimitOf(v); return &l }

func hasSwap(t *testing.T) bool {
	b, err := os.ReadFile("/proc/swaps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(strings.TrimSpace(string(b)), "\n") > 0
}

func TestMemoryOOM(t *testing.T) {
	e := newTestEnv(t)
	// tail keeps the longest line it has seen: on /dev/zero it grows until
	// the memory limit stops it.
	s := e.spec("tail", "/dev/zero")
	s.Resources.MemoryMax = limit(32 << 20)
	if hasSwap(t) {
		// Without this the kernel would swap rather than OOM-kill.
		s.Resources.MemorySwap = limit(32 << 20)
	}
	res, out := e.run(s)
	if res.ExitCode != 137 || res.Signal != syscall.SIGKILL {
		t.Errorf("exit %d signal %v, want 137 (SIGKILL); output %q", res.ExitCode, res.Signal, out)
	}
	// The kernel's own counter (memory.events oom_kill on v2,
	// memory.oom_control oom_kill on v1), read just before removal.
	if res.Group == nil || res.Group.Stats.Memory.Events.OOMKill.V < 1 {
		t.Fatalf("cgroup events show no OOM kill: %+v", res.Group)
	}
	rep := strings.Join(res.Report(s.Name), "\n")
	if !strings.Contains(rep, "OOM killer") || !strings.Contains(rep, "32 MiB memory limit") {
		t.Errorf("report %q does not name the OOM kill at 32 MiB", rep)
	}
	e.assertGone()
}

func TestPidsLimit(t *testing.T) {
	e := newTestEnv(t)
	s := e.helper("forks", "50")
	s.Resources.PidsMax = limit(10)
	res, out := e.run(s)
	var ok, failed int
	if _, err := fmt.Sscanf(out, "forked %d failed %d", &ok, &failed); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	// The helper's own threads count against the limit too, so fewer
	// than 10 of its forks succeed; the rest must fail.
	if failed == 0 || ok >= 10 {
		t.Errorf("forked %d failed %d under --pids-limit 10", ok, failed)
	}
	// The kernel counts every refused fork; the runtime's own thread
	// creation may add to the helper's.
	if res.Group.Stats.Pids.MaxEvents.V < uint64(failed) {
		t.Errorf("pids.events max = %v, helper saw %d failed forks", res.Group.Stats.Pids.MaxEvents, failed)
	}
	rep := strings.Join(res.Report(s.Name), "\n")
	if !strings.Contains(rep, "failed at its pids limit of 10") {
		t.Errorf("report %q does not name the pids limit", rep)
	}
	e.assertGone()
}

// cpuShare measures the CPU a group uses, in cores, from its usage counter
// over d, and how many periods were throttled meanwhile.
func cpuShare(t *testing.T, f *cgroup.FS, path string, d time.Duration) (float64, uint64) {
	t.Helper()
	a, err := f.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	time.Sleep(d)
	b, err := f.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	dt := time.Since(t0)
	if !a.Stats.CPU.Usage.OK || !a.Stats.CPU.Throttled.OK {
		t.Fatalf("no CPU usage or throttling counters for %s", path)
	}
	used := float64(b.Stats.CPU.Usage.V-a.Stats.CPU.Usage.V) / float64(dt.Microseconds())
	return used, b.Stats.CPU.Throttled.V - a.Stats.CPU.Throttled.V
}

func TestCPULimitAndLiveUpdate(t *testing.T) {
	e := newTestEnv(t)
	s := e.spec("sh", "-c", "while :; do :; done")
	s.Resources.CPU = &cgroup.CPUMax{Quota: cgroup.LimitOf(20000), Period: 100000}
	sb, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Wait()
	used, throttled := cpuShare(t, e.fs, sb.Cgroup(), 3*time.Second)
	t.Logf("--cpus 0.2: %.3f CPUs, %d periods throttled", used, throttled)
	if used < 0.15 || used > 0.25 {
		t.Errorf("--cpus 0.2 used %.3f CPUs, want 0.20 ± 0.05", used)
	}
	if throttled == 0 {
		t.Error("nr_throttled did not rise under --cpus 0.2")
	}
	// Lower it live, as ctop update does.
	m, err := cgroup.Load(e.fs, sb.Cgroup())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Update(cgroup.Resources{CPU: &cgroup.CPUMax{Quota: cgroup.LimitOf(5000), Period: 100000}}); err != nil {
		t.Fatal(err)
	}
	used2, _ := cpuShare(t, e.fs, sb.Cgroup(), 3*time.Second)
	t.Logf("updated to --cpus 0.05: %.3f CPUs", used2)
	if used2 > 0.08 || used2 >= used {
		t.Errorf("after lowering to --cpus 0.05 it used %.3f CPUs (before %.3f)", used2, used)
	}
	stale, err := Stop(e.fs, e.state, sb.Name, killNow())
	if err != nil || stale {
		t.Fatalf("stop: stale %v, %v", stale, err)
	}
	res, err := sb.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 137 {
		t.Errorf("stopped sandbox exited %d, want 137", res.ExitCode)
	}
	e.assertGone()
}

// TestCpusetLiveUpdate: a sandbox started without a cpuset limit gets one
// live (on v1 its cpuset group is made then, its processes moved in), as
// /proc/PID/status shows, and nothing of it remains after the stop.
func TestCpusetLiveUpdate(t *testing.T) {
	e := newTestEnv(t)
	if _, ok := e.fs.Hierarchy("cpuset"); !ok {
		t.Skip("no cpuset controller")
	}
	s := e.spec("sh", "-c", "sleep 60 & sleep 60 & wait")
	s.Name = "pin"
	sb, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = Stop(e.fs, e.state, "pin", killNow())
		_, _ = sb.Wait()
	}()
	// The processes already running are the ones to move.
	var procs []string
	for start := time.Now(); len(procs) < 3; time.Sleep(5 * time.Millisecond) {
		if procs = strings.Fields(e.cgroupFile("pids", sb.Cgroup(), "cgroup.procs")); time.Since(start) > 5*time.Second {
			t.Fatalf("sandbox processes %v, want the shell and its two sleeps", procs)
		}
	}
	// By the group's path, as the TUI's cgroups view and ctop update
	// PATH give it: still updated as the sandbox's.
	cpus := "0"
	if path, err := UpdateTarget(e.fs, e.state, sb.Cgroup(), cgroup.Resources{CpusetCpus: &cpus}); err != nil || path != sb.Cgroup() {
		t.Fatalf("update %s: %q, %v", sb.Cgroup(), path, err)
	}
	for _, p := range procs {
		status, err := os.ReadFile("/proc/" + p + "/status")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(status), "Cpus_allowed_list:\t0\n") {
			t.Errorf("process %s may run on other CPUs than 0 after the update", p)
		}
	}
	if _, err := Stop(e.fs, e.state, "pin", killNow()); err != nil {
		t.Fatal(err)
	}
	if res, err := sb.Wait(); err != nil || res.ExitCode != 137 {
		t.Errorf("stopped sandbox: %d %v, want 137", res.ExitCode, err)
	}
	e.assertGone()
}

func TestPidsLiveUpdate(t *testing.T) {
	e := newTestEnv(t)
	s := e.helper("forkwatch")
	s.Resources.PidsMax = limit(12)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s.Stdout = w
	sb, err := Start(s)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Wait()
	lines := bufio.NewScanner(r)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "full after") {
		t.Fatalf("helper said %q, want full after N", lines.Text())
	}
	// Forks are failing now; the kernel counts them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, err := e.fs.Read(sb.Cgroup())
		if err != nil {
			t.Fatal(err)
		}
		if g.Stats.Pids.MaxEvents.V >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("forks do not fail at the limit: pids.events max %v", g.Stats.Pids.MaxEvents)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m, err := cgroup.Load(e.fs, sb.Cgroup())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Update(cgroup.Resources{PidsMax: limit(64)}); err != nil {
		t.Fatal(err)
	}
	if got := e.cgroupFile("pids", sb.Cgroup(), "pids.max"); got != "64" {
		t.Errorf("pids.max = %q after update, want 64", got)
	}
	if !lines.Scan() || lines.Text() != "forked" {
		t.Fatalf("after raising the limit the helper said %q, want forked", lines.Text())
	}
	res, err := sb.Wait()
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exit %d, %v", res.ExitCode, err)
	}
	e.assertGone()
}

// blockDevice finds a directory on a whole-disk-backed filesystem and that
// disk: CTOP_TEST_DISKDIR and CTOP_TEST_BLOCKDEV when set, else the
// filesystem of the test's temporary directory.
func blockDevice(t *testing.T) (dir, dev string) {
	dir, dev = os.Getenv("CTOP_TEST_DISKDIR"), os.Getenv("CTOP_TEST_BLOCKDEV")
	if dev != "" && dir == "" {
		t.Skip("CTOP_TEST_BLOCKDEV is set without CTOP_TEST_DISKDIR, a directory on that device")
	}
	if dir == "" {
		dir = t.TempDir()
	}
	if dev != "" {
		return dir, dev
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	maj, min := unix.Major(st.Dev), unix.Minor(st.Dev)
	sys := fmt.Sprintf("/sys/dev/block/%d:%d", maj, min)
	real, err := filepath.EvalSymlinks(sys)
	if err != nil {
		t.Skipf("%s is on device %d:%d, not a block device (set CTOP_TEST_DISKDIR and CTOP_TEST_BLOCKDEV)", dir, maj, min)
	}
	if _, err := os.Stat(filepath.Join(real, "partition")); err == nil {
		real = filepath.Dir(real) // the disk holding the partition
	}
	dev = "/dev/" + filepath.Base(real)
	if _, err := os.Stat(dev); err != nil {
		t.Skipf("no device node %s for %s: %v", dev, dir, err)
	}
	return dir, dev
}

func TestIOThrottle(t *testing.T) {
	e := newTestEnv(t)
	dir, dev := blockDevice(t)
	d, err := ParseDeviceRate("/", dev+":1mb", true)
	if err != nil {
		t.Skipf("cannot throttle %s: %v", dev, err)
	}
	file := filepath.Join(dir, "ctop-io-test")
	defer os.Remove(file)
	s := e.helper("odirect", file, "3m")
	s.Binds = append(s.Binds, Bind{Source: dir, Dest: dir})
	s.Resources.IO = []cgroup.IOThrottle{{Device: d.Device, Kind: "wbps", Rate: d.Rate}}
	s.Stats = true // IO bytes in the last reading
	res, out := e.run(s)
	if strings.Contains(out, "invalid argument") {
		t.Skipf("%s does not support O_DIRECT: %s", dir, out)
	}
	var n uint64
	var secs float64
	if _, err := fmt.Sscanf(out, "wrote %d seconds %g", &n, &secs); err != nil || res.ExitCode != 0 {
		t.Fatalf("helper: exit %d output %q", res.ExitCode, out)
	}
	rate := float64(n) / secs
	t.Logf("O_DIRECT to %s under --device-write-bps %s:1mb: %.0f B/s", dir, dev, rate)
	if rate > 1.2*float64(1<<20) {
		t.Errorf("wrote at %.0f B/s, above 1.2 x the 1 MiB/s limit", rate)
	}
	var written uint64
	for _, s := range res.Group.Stats.IO {
		if s.Device == d.Device {
			written = s.WriteBytes
		}
	}
	if written < n {
		t.Errorf("the cgroup accounted %d bytes written to %s, the helper wrote %d", written, dev, n)
	}
	e.assertGone()
}

func TestIsolation(t *testing.T) {
	e := newTestEnv(t)
	hostBefore, _ := os.Hostname()
	s := e.helper("isolation")
	s.Hostname = "ctop-test-box"
	res, out := e.run(s)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	for _, want := range []string{"hostname ctop-test-box\n", "pid 1\n", "procs 1\n", "iface lo up=true\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("sandbox output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "iface "); n != 1 {
		t.Errorf("--network none shows %d interfaces, want only lo:\n%s", n, out)
	}
	if h, _ := os.Hostname(); h != hostBefore {
		t.Errorf("host name changed from %q to %q", hostBefore, h)
	}
	e.assertGone()
}

// nsID is a namespace's identity: the (device, inode) pair of its
// /proc/PID/ns link, namespaces(7).
func nsID(t *testing.T, pid string, n Namespace) [2]uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+pid+"/ns/"+string(n), &st); err != nil {
		t.Fatal(err)
	}
	return [2]uint64{st.Dev, st.Ino}
}

func TestNamespacesDiffer(t *testing.T) {
	for _, tc := range []struct {
		name string
		ns   []Namespace
	}{
		{"default", DefaultNamespaces()},
		{"user-time-uts", []Namespace{NSUser, NSTime, NSUTS}},
		{"all", AllNamespaces()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			if _, err := os.Stat("/proc/self/ns/time"); err != nil && contains(tc.ns, NSTime) {
				t.Skip("kernel has no time namespaces")
			}
			s := e.spec("sleep", "60")
			s.Namespaces = tc.ns
			sb, err := Start(s)
			if err != nil {
				t.Fatal(err)
			}
			pid := strconv.Itoa(sb.Pid)
			for _, n := range AllNamespaces() {
				if _, err := os.Stat("/proc/self/ns/" + string(n)); err != nil {
					continue
				}
				differs := nsID(t, pid, n) != nsID(t, "self", n)
				if differs != contains(tc.ns, n) {
					t.Errorf("%s namespace: differs from the host's = %v, asked to create it = %v", n, differs, contains(tc.ns, n))
				}
			}
			// Hardening, as /proc/PID/status shows it.
			status, err := os.ReadFile("/proc/" + pid + "/status")
			if err != nil {
				t.Fatal(err)
			}
			wantCaps := fmt.Sprintf("%016x", DefaultCapMask())
			for _, want := range []string{"NoNewPrivs:\t1", "CapEff:\t" + wantCaps, "CapBnd:\t" + wantCaps, "CapInh:\t0000000000000000"} {
				if !strings.Contains(string(status), want+"\n") {
					t.Errorf("/proc/%s/status lacks %q", pid, want)
				}
			}
			if _, err := Stop(e.fs, e.state, sb.Name, killNow()); err != nil {
				t.Fatal(err)
			}
			if _, err := sb.Wait(); err != nil {
				t.Fatal(err)
			}
			e.assertGone()
		})
	}
}

func contains(ns []Namespace, n Namespace) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}

// busyboxRootfs builds a minimal root filesystem from a static busybox.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	var bb string
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			bb = p
			break
		}
	}
	if bb == "" {
		t.Skip("no busybox: apt-get install busybox-static")
	}
	f, err := elf.Open(bb)
	if err != nil {
		t.Skipf("%s: %v", bb, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			f.Close()
			t.Skipf("%s is dynamically linked: install busybox-static", bb)
		}
	}
	f.Close()
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"sh", "cat", "echo", "dd", "ls", "sleep", "grep", "wc", "mknod", "cut"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "marker"), []byte("rootfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestFilesystem(t *testing.T) {
	e := newTestEnv(t)
	root := busyboxRootfs(t)
	upper := filepath.Join(t.TempDir(), "upper")
	vol := t.TempDir()
	s := e.spec("sh", "-c", `cat /marker; echo new > /newfile
if echo x > /data/f; then echo ro-writable; else echo ro-refused; fi
if dd if=/dev/zero of=/t/z bs=1024 count=2048 2>/dev/null; then echo tmpfs-unbounded; else echo tmpfs-full; fi
ls /t -l | grep z
if cat /etc/hostname 2>/dev/null; then echo host-visible; fi
exit 0`)
	s.Rootfs, s.Overlay, s.KeepUpper = root, true, upper
	s.Binds = []Bind{{Source: vol, Dest: "/data", ReadOnly: true}}
	s.Tmpfs = []Tmpfs{{Dest: "/t", Size: 1 << 20}}
	res, out := e.run(s)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	for _, want := range []string{"rootfs\n", "ro-refused\n", "tmpfs-full\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "host-visible") {
		t.Errorf("the host's /etc/hostname is visible after pivot_root:\n%s", out)
	}
	// The tmpfs held at most its size.
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[len(f)-1] == "z" {
			if n, _ := strconv.Atoi(f[4]); n > 1<<20 {
				t.Errorf("file of %d bytes in a 1 MiB tmpfs", n)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(upper, "newfile")); err != nil || string(b) != "new\n" {
		t.Errorf("kept upper layer: newfile %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(upper); len(ents) != 1 {
		t.Errorf("upper layer holds %v, want only newfile", ents)
	}
	if _, err := os.Stat(filepath.Join(root, "newfile")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lower rootfs was modified: %v", err)
	}
	if _, err := os.Stat(filepath.Join(vol, "f")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the :ro bind was written to: %v", err)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(upper), ".ctop-work-*")); len(matches) > 0 {
		t.Errorf("overlay work directory left behind: %v", matches)
	}
	e.assertGone()
}

func TestExitCodes(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		cmd  []string
		ns   []Namespace
		code int
	}{
		{[]string{"sh", "-c", "exit 3"}, nil, 3},
		{[]string{"ctop-no-such-command"}, nil, 127},
		{[]string{"/no/such/file"}, nil, 127},
		{[]string{"/etc/passwd"}, nil, 126},
		{[]string{"/"}, nil, 126},
		// Outside a new pid namespace sh is not init, so a signal kills it.
		{[]string{"sh", "-c", "kill -TERM $$"}, []Namespace{NSMount}, 128 + 15},
	} {
		s := e.spec(tc.cmd...)
		if tc.ns != nil {
			s.Namespaces = tc.ns
		}
		sb, err := Start(s)
		var code int
		var se *StartError
		switch {
		case errors.As(err, &se):
			code = se.Code
		case err != nil:
			t.Fatalf("%v: %v", tc.cmd, err)
		default:
			res, err := sb.Wait()
			if err != nil {
				t.Fatal(err)
			}
			code = res.ExitCode
		}
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (%v)", tc.cmd, code, tc.code, err)
		}
	}
	e.assertGone()
}

func TestBadInputCreatesNothing(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		name string
		mod  func(*Spec)
		want string
	}{
		{"missing rootfs", func(s *Spec) { s.Rootfs = "/no/such/rootfs" }, "--rootfs"},
		{"no command", func(s *Spec) { s.Command = nil }, "no command"},
		{"name with slash", func(s *Spec) { s.Name = "a/b" }, "--name"},
		{"name with dotdot", func(s *Spec) { s.Name = "a..b" }, "--name"},
		{"unknown namespace", func(s *Spec) { s.Namespaces = []Namespace{"bogus"} }, "--ns"},
		{"cpuset the kernel refuses", func(s *Spec) { c := "1023"; s.Resources.CpusetCpus = &c }, "cpuset.cpus"},
		{"hostname without uts", func(s *Spec) { s.Namespaces = []Namespace{NSPid}; s.Hostname = "x" }, "--hostname"},
	} {
		s := e.spec("true")
		s.Name = "bad"
		tc.mod(&s)
		_, err := Start(s)
		var se *StartError
		if !errors.As(err, &se) || se.Code != 125 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a 125 error naming %s", tc.name, err, tc.want)
		}
		e.assertGone()
	}
}

func TestDetachLsExecStop(t *testing.T) {
	e := newTestEnv(t)
	s := e.spec("sleep", "60")
	s.Name, s.Detach = "bg", true
	s.Resources.PidsMax = limit(20)
	sb, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	states, err := List(e.state)
	if err != nil || len(states) != 1 || states[0].Name != "bg" || !states[0].Running() || !states[0].Detached {
		t.Fatalf("ls: %+v, %v", states, err)
	}
	st := states[0]
	if st.Pid != sb.Pid {
		t.Errorf("state pid %d, started pid %d", st.Pid, sb.Pid)
	}
	// exec runs in the sandbox's pid namespace and cgroup.
	var out strings.Builder
	code, err := Exec(e.fs, st, ExecOptions{Command: []string{"sh", "-c", "echo $$; cat /proc/self/cgroup"}, Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("exec: %d %v %s", code, err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] == "1" || len(lines[0]) > 3 {
		t.Errorf("exec'd shell has pid %s; want a small pid in the sandbox's namespace, not 1", lines[0])
	}
	for _, l := range lines[1:] {
		// In its cgroup namespace the sandbox's group is the root.
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("exec'd shell outside the sandbox's cgroup: %s", l)
		}
	}
	code, err = Exec(e.fs, st, ExecOptions{Command: []string{"ctop-no-such-command"}})
	if code != 127 || err == nil {
		t.Errorf("exec of a missing command: %d %v, want 127", code, err)
	}
	if _, err := Stop(e.fs, e.state, "bg", killNow()); err != nil {
		t.Fatal(err)
	}
	res, err := sb.Wait()
	if err != nil || res.ExitCode != 137 {
		t.Errorf("detached sandbox ended %d, %v; want 137", res.ExitCode, err)
	}
	// Its record stays, exited, until removed (docker rm).
	if states, _ := List(e.state); len(states) != 1 || !states[0].Exited() || states[0].ExitCode == nil || *states[0].ExitCode != 137 {
		t.Errorf("ls -a after stop: %+v", states)
	}
	if err := Remove(e.fs, e.state, "bg", false); err != nil {
		t.Fatal(err)
	}
	if states, _ := List(e.state); len(states) != 0 {
		t.Errorf("ls after rm: %+v", states)
	}
	e.assertGone()
}

func TestCleanupAfterSIGKILL(t *testing.T) {
	e := newTestEnv(t)
	s := e.spec("sleep", "60")
	s.Name = "orphan"
	s.Resources.MemoryMax = limit(64 << 20)
	js, err := json.Marshal(initConfig{Spec: s, Resources: &s.Resources})
	if err != nil {
		t.Fatal(err)
	}
	runner := exec.Command(e.exe, string(js))
	runner.Env = append(os.Environ(), envHelper+"=runner")
	r, err := runner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscanf(r, "pid %d\n", &pid); err != nil {
		runner.Process.Kill()
		runner.Wait()
		t.Fatalf("runner: %v", err)
	}
	start, ok := procStart(pid)
	if !ok {
		t.Fatal("sandbox not running")
	}
	if err := runner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	runner.Wait()
	// The parent-death signal ends the sandbox with its ctop.
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid, start) {
		if time.Now().After(deadline) {
			t.Fatalf("sandbox pid %d outlived its SIGKILLed ctop", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// What it could not clean up, the next ctop does, and says so.
	if _, err := cgroup.Load(e.fs, filepath.Join(e.parent, "orphan")); err != nil {
		t.Fatalf("expected the killed ctop's cgroup to remain until reaped: %v", err)
	}
	msgs, err := Reap(e.fs, e.state, e.parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], "orphan") {
		t.Errorf("reap said %q", msgs)
	}
	e.assertGone()
	if _, err := cgroup.Load(e.fs, e.parent); !errors.Is(err, cgroup.ErrNotFound) {
		t.Errorf("parent group %s remains: %v", e.parent, err)
	}
}

// TestSurvivesCallerThreadExit: the kernel sends the parent-death signal
// when the thread that cloned the child exits, and Go ends a thread when a
// goroutine locked to it returns (ctop exec's does). The sandbox must not
// die with the thread of whichever goroutine called Start.
func TestSurvivesCallerThreadExit(t *testing.T) {
	e := newTestEnv(t)
	a := e.spec("sleep", "60")
	a.Name = "a"
	started := make(chan *Sandbox, 1)
	var startOffMain func()
	startOffMain = func() {
		runtime.LockOSThread() // never unlocked: this thread ends with the goroutine
		if unix.Gettid() == os.Getpid() {
			// The main thread never ends (Go parks it instead), so it
			// would prove nothing: hold it and start from another.
			done := make(chan struct{})
			go func() { startOffMain(); close(done) }()
			<-done
			return
		}
		sb, err := Start(a)
		if err != nil {
			t.Error(err)
		}
		started <- sb
	}
	go startOffMain()
	sb := <-started
	if sb == nil {
		t.FailNow()
	}
	defer sb.Wait()
	time.Sleep(100 * time.Millisecond) // time for a parent-death signal to land
	st, err := Load(e.state, "a")
	if err != nil || !st.Running() {
		t.Fatalf("sandbox died with the thread of the goroutine that started it: %v", err)
	}
	if _, err := Stop(e.fs, e.state, "a", killNow()); err != nil {
		t.Fatal(err)
	}
	if res, _ := sb.Wait(); res.ExitCode != 137 {
		t.Errorf("ended %d, want 137 from stop", res.ExitCode)
	}
	e.assertGone()
}

// TestReapLeavesForeignGroups: a group under the parent that no sandbox
// state names is not ctop's (--cgroup-parent may name a slice holding the
// user's services); reaping must neither kill its processes nor remove it,
// nor remove a parent ctop did not make.
func TestReapLeavesForeignGroups(t *testing.T) {
	e := newTestEnv(t)
	m, err := cgroup.Create(e.fs, e.parent+"/foreign", cgroup.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	if err := m.AddProc(sleep.Process.Pid); err != nil {
		t.Fatal(err)
	}
	start, _ := procStart(sleep.Process.Pid)
	msgs, err := Reap(e.fs, e.state, e.parent)
	if err != nil || len(msgs) != 0 {
		t.Errorf("Reap = %q, %v; want nothing done", msgs, err)
	}
	if !alive(sleep.Process.Pid, start) {
		t.Error("Reap killed a process of a group no sandbox owns")
	}
	if _, err := cgroup.Load(e.fs, e.parent+"/foreign"); err != nil {
		t.Errorf("Reap removed a group no sandbox owns: %v", err)
	}
}

// TestCgroupfsReadOnly: without a rootfs the host's cgroup filesystems are
// in view; a sandbox must not be able to move itself out of its cgroup.
func TestCgroupfsReadOnly(t *testing.T) {
	e := newTestEnv(t)
	procs := "/sys/fs/cgroup/cgroup.procs"
	if e.fs.Mode() != cgroup.ModeUnified {
		h, ok := e.fs.Hierarchy("pids")
		if !ok {
			t.Skip("no pids hierarchy")
		}
		procs = filepath.Join(h.Mountpoint, "cgroup.procs")
	}
	res, out := e.run(e.spec("sh", "-c", "echo $$ > "+procs))
	if res.ExitCode == 0 || !strings.Contains(out, "Read-only file system") {
		t.Errorf("writing %s inside the sandbox: exit %d, %q; want a read-only file system", procs, res.ExitCode, out)
	}
}

// TestRootfsSymlinkStaysInside: a link in the rootfs pointing at a host
// path must resolve inside the rootfs when ctop makes a mount point, so a
// crafted image cannot make ctop create files on the host.
func TestRootfsSymlinkStaysInside(t *testing.T) {
	e := newTestEnv(t)
	rootfs := busyboxRootfs(t)
	victim := t.TempDir()
	if err := os.Symlink(victim, filepath.Join(rootfs, "evil")); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := e.spec("/bin/sh", "-c", "cat /evil/planted")
	s.Rootfs = rootfs
	s.Binds = []Bind{{Source: src, Dest: "/evil/planted", ReadOnly: true}}
	s.Tmpfs = []Tmpfs{{Dest: "/evil/tmp"}}
	if res, out := e.run(s); res.ExitCode != 0 || out != "x" {
		t.Errorf("exit %d, output %q", res.ExitCode, out)
	}
	if ents, _ := os.ReadDir(victim); len(ents) != 0 {
		t.Errorf("mount points were made on the host, in %s: %v", victim, ents)
	}
}

// TestExecDiesWithCtop: a ctop exec SIGKILLed at any point of its start
// must not leave its command running in the sandbox (reparented to the
// sandbox's init, it would never get the parent-death signal set after
// its parent died). The kills land from the fork to well after the
// command started.
func TestExecDiesWithCtop(t *testing.T) {
	e := newTestEnv(t)
	s := e.spec("sleep", "120")
	s.Name, s.Detach, s.Remove = "execkill", true, true
	sb, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = Stop(e.fs, e.state, s.Name, killNow()); _, _ = sb.Wait() })
	// An argument no other process has, to find strays anywhere.
	marker := fmt.Sprintf("%d.%d", 900+os.Getpid()%99, os.Getpid())
	strays := func() []string {
		var out []string
		ents, _ := os.ReadDir("/proc")
		for _, d := range ents {
			b, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
			if err == nil && string(b) == "sleep\x00"+marker+"\x00" {
				out = append(out, d.Name())
			}
		}
		return out
	}
	t.Cleanup(func() {
		for _, p := range strays() {
			if pid, err := strconv.Atoi(p); err == nil {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
	})
	for i := range 30 {
		h := exec.Command(e.exe, e.state, s.Name, "sleep", marker)
		h.Env = append(os.Environ(), envHelper+"=exec")
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		// From the fork of the exec child (a few ms in) to well after
		// its command runs.
		time.Sleep(time.Duration(i*3) * time.Millisecond)
		_ = h.Process.Kill()
		_ = h.Wait()
		deadline := time.Now().Add(2 * time.Second)
		for {
			procs := strings.Fields(e.cgroupFile("pids", sb.Cgroup(), "cgroup.procs"))
			left := strays()
			if len(procs) == 1 && len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d (killed after %dms): the sandbox's group holds %v (init %d), sleep %s runs as %v",
					i, i*3, procs, sb.Pid, marker, left)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestLimitsHoldFromInside: root in a limited sandbox tries to raise its
// own memory limit and to move itself out of its group, through the
// cgroup filesystem in view; both fail. Without a mount namespace, in
// which alone ctop can keep that filesystem read-only, a limited
// sandbox is refused, and nothing is left.
func TestLimitsHoldFromInside(t *testing.T) {
	e := newTestEnv(t)
	s := e.spec("sh")
	s.Name = "raise"
	s.Resources.MemoryMax = limit(64 << 20)
	dir, ok := e.fs.Dir("memory", s.CgroupPath())
	if !ok {
		t.Skip("no memory hierarchy")
	}
	// The host's paths of its group and parents, and the group as the
	// sandbox's own /sys/fs/cgroup shows it (its cgroup namespace's root).
	own := "/sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes"
	s.Command = append(s.Command, "-c", `
for f in `+dir+`/memory.max `+dir+`/memory.limit_in_bytes `+own+`; do
	[ -e $f ] && echo 1073741824 2>/dev/null > $f && echo raised
done
echo $$ 2>/dev/null > `+filepath.Dir(dir)+`/cgroup.procs && echo moved
echo $$ 2>/dev/null > `+filepath.Dir(filepath.Dir(dir))+`/cgroup.procs && echo moved
cat `+own+` 2>/dev/null; exit 0`)
	res, out := e.run(s)
	if res.ExitCode != 0 || strings.Contains(out, "raised") || strings.Contains(out, "moved") || strings.TrimSpace(out) != "67108864" {
		t.Errorf("exit %d, output %q; want the writes refused and the limit 67108864", res.ExitCode, out)
	}
	s.Namespaces, s.Command = []Namespace{NSPid}, []string{"true"}
	var se *StartError
	if _, err := Start(s); !errors.As(err, &se) || se.Code != ExitFailed || !strings.Contains(err.Error(), "add mnt to --ns") {
		t.Errorf("a limited sandbox without a mount namespace: %v; want refused", err)
	}
	e.assertGone()
}

// TestExecSealedBinary: ctop exec's child, in the sandbox's pid
// namespace, is not ctop's binary but a sealed copy of it. A command
// replaced by "#!/proc/self/exe" (runc's CVE-2019-5736) gets that copy as
// its interpreter, sees a memfd as /proc/self/exe, and cannot write to it
// once nothing executes it; the host's binary is unchanged.
func TestExecSealedBinary(t *testing.T) {
	e := newTestEnv(t)
	s := e.spec("sleep", "60")
	s.Name, s.Detach, s.Remove = "sealed", true, true
	// The script, under the host's /tmp, is seen through a -v.
	scripts := t.TempDir()
	s.Binds = []Bind{{Source: scripts, Dest: scripts, ReadOnly: true}}
	script := filepath.Join(scripts, "evil")
	if err := os.WriteFile(script, []byte("#!/proc/self/exe\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sb, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = Stop(e.fs, e.state, s.Name, killNow()); _, _ = sb.Wait() })
	sum := func() [32]byte {
		b, err := os.ReadFile(e.exe)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum()
	st, err := Load(e.state, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	code, err := Exec(e.fs, st, ExecOptions{Command: []string{script}, Env: []string{envHelper + "=exeattack"}, Stdout: &out, Stderr: &out})
	got := out.String()
	if err != nil || code != 0 || !strings.Contains(got, "exe /memfd:ctop") || !strings.Contains(got, "refused") || strings.Contains(got, e.exe) {
		t.Errorf("exec: %d, %v, output %q; want the interpreter a memfd, and the write refused", code, err, got)
	}
	if sum() != before {
		t.Errorf("the host's binary %s was changed from inside the sandbox", e.exe)
	}
}

// TestInitSealedBinary: the re-executed init (the start of a --rootfs or a
// user namespace) runs inside the sandbox, so it too is a sealed copy of
// ctop: a command that is a "#!/proc/self/exe" script (an image's, in
// runc's CVE-2019-5736) runs the copy and cannot write it.
func TestInitSealedBinary(t *testing.T) {
	e := newTestEnv(t)
	scripts := t.TempDir()
	script := filepath.Join(scripts, "evil")
	if err := os.WriteFile(script, []byte("#!/proc/self/exe\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(e.exe)
	if err != nil {
		t.Fatal(err)
	}
	before := sha256.Sum256(b)
	s := e.spec(script)
	s.Env = []string{envHelper + "=exeattack"}
	s.Binds = []Bind{{Source: scripts, Dest: scripts, ReadOnly: true}}
	s.viaInit = true
	res, out := e.run(s)
	if res.ExitCode != 0 || !strings.Contains(out, "exe /memfd:ctop") || !strings.Contains(out, "refused") || strings.Contains(out, e.exe) {
		t.Errorf("exit %d, output %q; want the interpreter a memfd, and the write refused", res.ExitCode, out)
	}
	if b, err = os.ReadFile(e.exe); err != nil || sha256.Sum256(b) != before {
		t.Errorf("the host's binary %s was changed from inside the sandbox (%v)", e.exe, err)
	}
	e.assertGone()
}

// TestUserNamespaceRemap: root in a sandbox with a user namespace is an
// unprivileged host id: ctop's subordinate range, added above the ranges
// the files hold. What it makes in a bound host directory belongs to
// that id; a root-owned host file bound in stays closed to it; ctop exec
// enters the same namespace, as the same root.
func TestUserNamespaceRemap(t *testing.T) {
	e := newTestEnv(t)
	if !canLaunchExec() {
		t.Skip("no launch here: exec cannot enter a user namespace")
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(e.ids, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("subuid", "alice:100000:65536\n")
	write("subgid", "alice:100000:65536\nbob:300000:1000")
	base, err := os.MkdirTemp("", "ctop-test-userns-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	shared, in, victim, target := filepath.Join(base, "shared"), filepath.Join(base, "in"), filepath.Join(base, "victim"), filepath.Join(base, "target")
	for _, d := range []string{shared, in} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{victim, target} {
		if err := os.WriteFile(f, []byte("host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	s := e.spec("sh", "-c", `cat /proc/self/uid_map /proc/self/gid_map; id -u
touch `+in+`/made && echo made
if echo x 2>/dev/null >> `+target+`; then echo wrote; else echo refused; fi`)
	s.Namespaces = append(s.Namespaces, NSUser)
	s.Binds = []Bind{{Source: shared, Dest: in}, {Source: victim, Dest: target}}
	res, out := e.run(s)
	if got, want := strings.Fields(out), strings.Fields("0 165536 65536 0 301000 65536 0 made refused"); res.ExitCode != 0 || !slices.Equal(got, want) {
		t.Errorf("exit %d, output %q; want %q", res.ExitCode, out, want)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(shared, "made"), &st); err != nil || st.Uid != 165536 || st.Gid != 301000 {
		t.Errorf("a file root made inside: %v, owned by %d:%d on the host; want 165536:301000", err, st.Uid, st.Gid)
	}
	if b, _ := os.ReadFile(victim); string(b) != "host\n" {
		t.Errorf("root inside wrote the host's root-owned file: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(e.ids, "subuid")); string(b) != "alice:100000:65536\nctop:165536:65536\n" {
		t.Errorf("subuid now %q", b)
	}

	d := e.spec("sleep", "60")
	d.Name, d.Detach, d.Remove, d.Namespaces = "remapped", true, true, append(d.Namespaces, NSUser)
	sb, err := Start(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = Stop(e.fs, e.state, d.Name, killNow()); _, _ = sb.Wait() })
	ds, err := Load(e.state, d.Name)
	if err != nil {
		t.Fatal(err)
	}
	if skips := ExecSkips(ds); len(skips) != 0 {
		t.Errorf("exec skips %v", skips)
	}
	var xo strings.Builder
	code, err := Exec(e.fs, ds, ExecOptions{Command: []string{"sh", "-c", "cat /proc/self/uid_map; id -u; readlink /proc/self/ns/user"}, Stdout: &xo, Stderr: &xo})
	userNS, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", sb.Pid))
	if got, want := strings.Fields(xo.String()), []string{"0", "165536", "65536", "0", userNS}; err != nil || code != 0 || !slices.Equal(got, want) {
		t.Errorf("exec: %d, %v, output %q; want %q", code, err, xo.String(), want)
	}
}
