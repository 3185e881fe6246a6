package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func closeFD(fd int) { _ = unix.Close(fd) }

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{"0": {0}, "0-3": {0, 1, 2, 3}, "1,3-4,1": {1, 3, 4}} {
		got, err := ParseCPUList(in)
		if err != nil {
			t.Fatalf("ParseCPUList(%q): %v", in, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("ParseCPUList(%q) (-want +got)\n%s", in, d)
		}
	}
	for _, in := range []string{"", "a", "3-1", "1,,2", "-1", "0-", "70000"} {
		if _, err := ParseCPUList(in); err == nil {
			t.Errorf("ParseCPUList(%q) succeeded", in)
		}
	}
}

func TestResourcesValidate(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	l := func(v uint64) *Limit { x := LimitOf(v); return &x }
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		r    Resources
		want string
	}{
		{Resources{CPU: &CPUMax{Quota: LimitOf(500), Period: 100000}}, "cpu quota"},
		{Resources{CPU: &CPUMax{Quota: Max, Period: 10}}, "cpu period"},
		{Resources{CPUShares: u(1)}, "cpu shares"},
		{Resources{CPUShares: u(300000)}, "cpu shares"},
		{Resources{CpusetCpus: s("x")}, "cpu list"},
		{Resources{MemoryMax: l(64 << 20), MemorySwap: l(32 << 20)}, "memory+swap"},
		{Resources{IO: []IOThrottle{{Kind: "bps"}}}, "io throttle kind"},
	} {
		if err := tc.r.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error naming %q", tc.r, err, tc.want)
		}
	}
	ok := Resources{CPU: &CPUMax{Quota: LimitOf(20000), Period: 100000}, CPUShares: u(512), MemoryMax: l(64 << 20),
		MemorySwap: &Max, PidsMax: &Max, IO: []IOThrottle{{Device: Device{8, 0}, Kind: "wbps", Rate: 1}}}
	if err := ok.Validate(); err != nil || ok.Empty() {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
	if !(Resources{}).Empty() {
		t.Error("zero Resources not empty")
	}
}

// fakeTree builds a root with a mountinfo and existing group directories,
// so Update's writes can be read back as plain files. (A real kernel fills
// a new group with its files; a fake tree cannot, so Create is tested on
// the live host below.)
func fakeTree(t *testing.T, mountinfo string, dirs map[string]string) *FS {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "proc/self"), 0o755))
	must(os.WriteFile(filepath.Join(root, "proc/self/mountinfo"), []byte(mountinfo), 0o644))
	for d, ctrls := range dirs {
		must(os.MkdirAll(filepath.Join(root, d), 0o755))
		if ctrls != "" {
			must(os.WriteFile(filepath.Join(root, d, "cgroup.controllers"), []byte(ctrls+"\n"), 0o644))
		}
	}
	f, err := Open(root)
	must(err)
	return f
}

// touch makes empty files, as the kernel has a group's files before any
// write (writes do not create them).
func touch(t *testing.T, f *FS, files ...string) {
	t.Helper()
	for _, p := range files {
		if err := os.WriteFile(filepath.Join(f.Root(), p), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readTree(t *testing.T, f *FS, files ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range files {
		b, err := os.ReadFile(filepath.Join(f.Root(), p))
		if err != nil {
			out[p] = "<missing>"
			continue
		}
		out[p] = string(b)
	}
	return out
}

func fullResources() Resources {
	shares := uint64(1024)
	cpus := "0-1"
	mem, low, swap, pids := LimitOf(64<<20), LimitOf(16<<20), LimitOf(96<<20), LimitOf(10)
	return Resources{
		CPU:       &CPUMax{Quota: LimitOf(50000), Period: 100000},
		CPUShares: &shares, CpusetCpus: &cpus,
		MemoryMax: &mem, MemoryLow: &low, MemorySwap: &swap, PidsMax: &pids,
		IO: []IOThrottle{{Device: Device{254, 0}, Kind: "wbps", Rate: 1 << 20}, {Device: Device{254, 0}, Kind: "riops", Rate: 0}},
	}
}

func TestUpdateV2Files(t *testing.T) {
	f := fakeTree(t, "30 23 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
		map[string]string{"sys/fs/cgroup": "cpuset cpu io memory pids", "sys/fs/cgroup/ctop/web": "cpuset cpu io memory pids"})
	g := "sys/fs/cgroup/ctop/web/"
	files := []string{g + "cpu.max", g + "cpu.weight", g + "cpuset.cpus", g + "memory.max", g + "memory.low", g + "memory.swap.max", g + "pids.max", g + "io.max"}
	touch(t, f, files...)
	m, err := Load(f, "/ctop/web")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Update(fullResources()); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, f, files...)
	want := map[string]string{
		g + "cpu.max": "50000 100000", g + "cpu.weight": "100", g + "cpuset.cpus": "0-1",
		g + "memory.max": "67108864", g + "memory.low": "16777216",
		// docker's --memory-swap counts memory plus swap; v2 counts swap alone.
		g + "memory.swap.max": "33554432", g + "pids.max": "10",
		// The last write wins in a fake file; the kernel merges keys per device.
		g + "io.max": "254:0 riops=max",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if fd, ok, err := m.FD(); err != nil || !ok {
		t.Errorf("FD on v2: %v %v", ok, err)
	} else {
		closeFD(fd)
	}
}

func TestUpdateV1Files(t *testing.T) {
	mi := `32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
`
	dirs := map[string]string{}
	for _, c := range []string{"cpu", "cpuacct", "cpuset", "memory", "blkio", "pids"} {
		dirs["sys/fs/cgroup/"+c+"/ctop/web"] = ""
	}
	f := fakeTree(t, mi, dirs)
	// v1 refuses a memsw limit without swap accounting: the file must exist.
	if err := os.WriteFile(filepath.Join(f.Root(), "sys/fs/cgroup/memory/ctop/web/memory.memsw.limit_in_bytes"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := "sys/fs/cgroup/"
	files := []string{p + "cpu/ctop/web/cpu.cfs_quota_us", p + "cpu/ctop/web/cpu.cfs_period_us", p + "cpu/ctop/web/cpu.shares",
		p + "cpuset/ctop/web/cpuset.cpus", p + "memory/ctop/web/memory.limit_in_bytes", p + "memory/ctop/web/memory.memsw.limit_in_bytes",
		p + "memory/ctop/web/memory.soft_limit_in_bytes", p + "pids/ctop/web/pids.max", p + "blkio/ctop/web/blkio.throttle.write_bps_device",
		p + "blkio/ctop/web/blkio.throttle.read_iops_device"}
	touch(t, f, files...)
	m, err := Load(f, "/ctop/web")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := m.FD(); ok {
		t.Error("FD on a v1-only host should report no v2 group")
	}
	r := fullResources()
	r.PidsMax = &Max
	if err := m.Update(r); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, f, files...)
	want := map[string]string{
		p + "cpu/ctop/web/cpu.cfs_quota_us": "50000", p + "cpu/ctop/web/cpu.cfs_period_us": "100000", p + "cpu/ctop/web/cpu.shares": "1024",
		p + "cpuset/ctop/web/cpuset.cpus": "0-1", p + "memory/ctop/web/memory.limit_in_bytes": "67108864",
		p + "memory/ctop/web/memory.memsw.limit_in_bytes": "100663296", p + "memory/ctop/web/memory.soft_limit_in_bytes": "16777216",
		p + "pids/ctop/web/pids.max": "max", p + "blkio/ctop/web/blkio.throttle.write_bps_device": "254:0 1048576",
		p + "blkio/ctop/web/blkio.throttle.read_iops_device": "254:0 0",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	// Unlimited on v1 is -1.
	if err := m.Update(Resources{CPU: &CPUMax{Quota: Max}}); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, f, p+"cpu/ctop/web/cpu.cfs_quota_us"); got[p+"cpu/ctop/web/cpu.cfs_quota_us"] != "-1" {
		t.Errorf("unlimited quota written as %q", got)
	}
}

func TestLoadMissing(t *testing.T) {
	f := fakeTree(t, "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", map[string]string{"sys/fs/cgroup": "cpu"})
	if _, err := Load(f, "/nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load of a missing group: %v", err)
	}
	if _, err := Create(f, "/", Resources{}); err == nil {
		t.Error("Create of the root group succeeded")
	}
}

// liveFS opens the host's cgroups for a root-only test and names a parent
// group for it, removed at the end even on failure.
func liveFS(t *testing.T) (*FS, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups")
	}
	f, err := Open("/")
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	parent := fmt.Sprintf("/ctop-test-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"))
	t.Cleanup(func() {
		if m, err := Load(f, parent); err == nil {
			_ = m.Kill()
			if err := m.Delete(); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return f, parent
}

func TestCreateUpdateDeleteLive(t *testing.T) {
	f, parent := liveFS(t)
	path := parent + "/g"
	pids, mem := LimitOf(7), LimitOf(48<<20)
	m, err := Create(f, path, Resources{PidsMax: &pids, MemoryMax: &mem, CPU: &CPUMax{Quota: LimitOf(30000), Period: 100000}})
	if err != nil {
		t.Fatal(err)
	}
	// Read back through the package's reader, which parses the kernel's files.
	g, err := f.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.Limits.Pids != LimitOf(7) || g.Limits.Memory.Max != LimitOf(48<<20) || g.Limits.CPU.Cores() != 0.3 {
		t.Errorf("limits read back: pids %v memory %v cpus %v", g.Limits.Pids, g.Limits.Memory.Max, g.Limits.CPU.Cores())
	}
	// The Manager's own reading (a sandbox's last one) gives the same
	// limits, without the ancestors'.
	own, err := m.Read()
	if err != nil {
		t.Fatal(err)
	}
	if own.Limits.Pids != g.Limits.Pids || own.Limits.Memory.Max != g.Limits.Memory.Max || own.Limits.CPU.Cores() != g.Limits.CPU.Cores() {
		t.Errorf("Manager.Read limits: pids %v memory %v cpus %v, want those of FS.Read", own.Limits.Pids, own.Limits.Memory.Max, own.Limits.CPU.Cores())
	}
	if !own.Stats.Memory.Current.OK || own.Procs != g.Procs {
		t.Errorf("Manager.Read stats: memory %v procs %v, want a reading like FS.Read's (procs %v)", own.Stats.Memory.Current, own.Procs, g.Procs)
	}
	if _, err := Create(f, path, Resources{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second Create: %v", err)
	}
	pids = Max
	if err := m.Update(Resources{PidsMax: &pids}); err != nil {
		t.Fatal(err)
	}
	if g, _ := f.Read(path); !g.Limits.Pids.Unlimited {
		t.Errorf("pids after update to max: %v", g.Limits.Pids)
	}
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(path); !errors.Is(err, ErrNotFound) {
		t.Errorf("group still readable after Delete: %v", err)
	}
	if removed, err := RemoveIfEmpty(f, parent); err != nil || !removed {
		t.Errorf("RemoveIfEmpty(%s) = %v, %v", parent, removed, err)
	}
}

func TestCreateRollsBackOnRefusal(t *testing.T) {
	f, parent := liveFS(t)
	if _, ok := f.Hierarchy("cpuset"); !ok {
		t.Skip("no cpuset controller")
	}
	cpus := "1023"
	_, err := Create(f, parent+"/g", Resources{CpusetCpus: &cpus})
	if err == nil || !strings.Contains(err.Error(), `"1023"`) || !strings.Contains(err.Error(), "cpuset.cpus") {
		t.Fatalf("Create with a cpuset the kernel refuses: %v, want an error naming the file and value", err)
	}
	if _, err := Load(f, parent); !errors.Is(err, ErrNotFound) {
		t.Errorf("failed Create left %s behind: %v", parent, err)
	}
}

// TestV1HierarchiesAsNeeded: on v1 a group gets a cpuset directory only
// with a cpuset limit, and a freezer directory only where its v2 directory
// cannot kill it; Extend adds the cpuset directory later with the group's
// processes moved in, as the kernel's own files show.
func TestV1HierarchiesAsNeeded(t *testing.T) {
	f, parent := liveFS(t)
	if h, ok := f.Hierarchy("cpuset"); !ok || h.Version != 1 {
		t.Skip("no v1 cpuset hierarchy")
	}
	path := parent + "/g"
	m, err := Create(f, path, Resources{})
	if err != nil {
		t.Fatal(err)
	}
	exists := func(controller, file string) bool {
		dir, ok := f.Dir(controller, path)
		if !ok {
			return false
		}
		_, err := os.Stat(filepath.Join(dir, file))
		return err == nil
	}
	if exists("cpuset", "") {
		t.Error("a group without a cpuset limit has a cpuset directory")
	}
	if _, ok := f.Hierarchy("freezer"); ok {
		if kill := exists("", "cgroup.kill"); exists("freezer", "") == kill {
			t.Errorf("freezer directory made = %v, with cgroup.kill in the v2 tree = %v", !kill, kill)
		}
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := m.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// As ctop update does it: a fresh Load of the running group.
	m2, err := Load(f, path)
	if err != nil {
		t.Fatal(err)
	}
	cpus := "0"
	r := Resources{CpusetCpus: &cpus}
	if err := m2.Update(r); err == nil || !strings.Contains(err.Error(), "cpuset") {
		t.Errorf("Update of a missing cpuset directory: %v, want an error naming the controller", err)
	}
	if err := m2.Extend(r); err != nil {
		t.Fatal(err)
	}
	if err := m2.Update(r); err != nil {
		t.Fatal(err)
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cg), ":cpuset:"+path+"\n") {
		t.Errorf("after Extend the process is not in the cpuset group:\n%s", cg)
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if !strings.Contains(string(status), "Cpus_allowed_list:\t0\n") {
		t.Errorf("the process may run on other CPUs than 0:\n%s", status)
	}
	if err := m2.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := m2.Delete(); err != nil {
		t.Fatal(err)
	}
	if exists("cpuset", "") {
		t.Error("Delete left the cpuset directory")
	}
	// A group removed after it was loaded (its sandbox ended) is not made
	// again in cpuset by a late update.
	m3, err := Create(f, path, Resources{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m3.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := m3.Extend(r); !errors.Is(err, ErrNotFound) {
		t.Errorf("Extend of a removed group: %v, want ErrNotFound", err)
	}
	if exists("cpuset", "") {
		t.Error("Extend of a removed group left a cpuset directory")
	}
}

func TestRemoveIfEmptyLive(t *testing.T) {
	f, parent := liveFS(t)
	if removed, err := RemoveIfEmpty(f, parent); err != nil || removed {
		t.Errorf("RemoveIfEmpty of a missing group = %v, %v; want false, nil", removed, err)
	}
	m, err := Create(f, parent+"/g", Resources{})
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := RemoveIfEmpty(f, parent); err != nil || removed {
		t.Errorf("RemoveIfEmpty of a parent with a child group = %v, %v; want false, nil", removed, err)
	}
	if err := m.Delete(); err != nil {
		t.Fatal(err)
	}
	if removed, err := RemoveIfEmpty(f, parent); err != nil || !removed {
		t.Errorf("RemoveIfEmpty of an empty parent = %v, %v; want true, nil", removed, err)
	}
	if _, err := Load(f, parent); !errors.Is(err, ErrNotFound) {
		t.Errorf("%s still there after RemoveIfEmpty: %v", parent, err)
	}
}

// TestReadFinal: the last reading has the counters a report needs, and the
// limits only of a group that ran into one.
func TestReadFinal(t *testing.T) {
	mi := `35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
`
	f := fakeTree(t, mi, map[string]string{"sys/fs/cgroup/memory/ctop/web": "", "sys/fs/cgroup/pids/ctop/web": ""})
	write := func(p, v string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(f.Root(), "sys/fs/cgroup", p), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("memory/ctop/web/memory.max_usage_in_bytes", "1048576\n")
	write("memory/ctop/web/memory.limit_in_bytes", "33554432\n")
	write("memory/ctop/web/memory.usage_in_bytes", "4096\n") // not a final counter
	write("memory/ctop/web/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
	write("memory/ctop/web/memory.failcnt", "3\n")
	write("pids/ctop/web/pids.events", "max 0\n")
	write("pids/ctop/web/pids.max", "10\n")
	m, err := Load(f, "/ctop/web")
	if err != nil {
		t.Fatal(err)
	}
	// Without --stats: the events only.
	g, err := m.ReadFinal(false)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Stats.Memory.Events.OOMKill.OK || g.Stats.Pids.MaxEvents != Known(0) {
		t.Errorf("events: oom_kill %+v pids max %+v", g.Stats.Memory.Events.OOMKill, g.Stats.Pids.MaxEvents)
	}
	if g.Stats.Memory.Peak.OK || g.Stats.Memory.Current.OK || g.Stats.Memory.Failcnt.OK || g.Limits.Memory.Max.OK || g.Limits.Pids.OK {
		t.Errorf("read more than a report needs: peak %+v usage %+v failcnt %+v, limits %+v %+v",
			g.Stats.Memory.Peak, g.Stats.Memory.Current, g.Stats.Memory.Failcnt, g.Limits.Memory.Max, g.Limits.Pids)
	}
	if g, err = m.ReadFinal(true); err != nil {
		t.Fatal(err)
	}
	if g.Stats.Memory.Peak != Known(1<<20) || g.Stats.Memory.Current.OK {
		t.Errorf("with stats: peak %+v usage %+v; want the peak only", g.Stats.Memory.Peak, g.Stats.Memory.Current)
	}
	// Through the files PrepareFinal opened: they read what the kernel
	// (here the test) says at the time of ReadFinal.
	m.PrepareFinal(false)
	if m.final == nil || len(m.final.files) != 2 {
		t.Fatalf("PrepareFinal kept %v open, want oom_control and pids.events", m.final)
	}
	write("memory/ctop/web/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")
	if g, err = m.ReadFinal(false); err != nil {
		t.Fatal(err)
	}
	if g.Stats.Memory.Events.OOMKill != Known(1) || g.Limits.Memory.Max != LimitOf(32<<20) || g.Limits.Pids != LimitOf(10) || g.Stats.Memory.Failcnt != Known(3) {
		t.Errorf("after an OOM kill: oom_kill %+v, limits %+v %+v, failcnt %+v; want 1, 32 MiB, 10, 3",
			g.Stats.Memory.Events.OOMKill, g.Limits.Memory.Max, g.Limits.Pids, g.Stats.Memory.Failcnt)
	}
	if m.final != nil {
		t.Error("ReadFinal left PrepareFinal's files open")
	}
}

// TestExtendConverges: an update killed after it made a group's cpuset
// directory but before it moved the processes in (made here by making
// the directory and moving nothing) is finished by the next update, as
// /proc/PID/cgroup shows; and an update with a cpuset the kernel refuses
// leaves no cpuset directory, nor any process moved.
func TestExtendConverges(t *testing.T) {
	f, parent := liveFS(t)
	h, ok := f.Hierarchy("cpuset")
	if !ok || h.Version != 1 {
		t.Skip("no v1 cpuset hierarchy")
	}
	path := parent + "/g"
	m, err := Create(f, path, Resources{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := m.AddProc(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	cpuset := func() string {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if _, p, ok := strings.Cut(l, ":cpuset:"); ok {
				return p
			}
		}
		t.Fatalf("no cpuset line in\n%s", b)
		return ""
	}
	before := cpuset()
	cpusDir := filepath.Join(h.Mountpoint, path)
	parentDir := filepath.Join(h.Mountpoint, parent)

	bad := "0-999"
	m1, err := Load(f, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := m1.Extend(Resources{CpusetCpus: &bad}); err == nil || !strings.Contains(err.Error(), "cpuset.cpus") {
		t.Errorf("Extend with cpuset %s: %v, want the kernel's refusal naming cpuset.cpus", bad, err)
	}
	for _, d := range []string{cpusDir, parentDir} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("a refused update left %s", d)
		}
	}
	if got := cpuset(); got != before {
		t.Errorf("a refused update moved the process to cpuset %s", got)
	}

	// Killed half-way: the directory made, nothing moved.
	m2, err := Load(f, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m2.createIn(h, strings.Split(strings.TrimPrefix(path, "/"), "/"), true); err != nil {
		t.Fatal(err)
	}
	if got := cpuset(); got == path {
		t.Fatal("the process is in the cpuset group already")
	}
	cpus := "0"
	r := Resources{CpusetCpus: &cpus}
	m3, err := Load(f, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := m3.Extend(r); err != nil {
		t.Fatal(err)
	}
	if err := m3.Update(r); err != nil {
		t.Fatal(err)
	}
	if got := cpuset(); got != path {
		t.Errorf("after the next update the process is in cpuset %s, want %s", got, path)
	}
}

func TestFirstPid(t *testing.T) {
	f := fakeTree(t, "30 23 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
		map[string]string{"sys/fs/cgroup": "memory pids", "sys/fs/cgroup/ctop/web": "memory pids",
			"sys/fs/cgroup/ctop/web/child": "memory pids", "sys/fs/cgroup/ctop/idle": "memory pids"})
	for p, procs := range map[string]string{"ctop/web/cgroup.procs": "", "ctop/web/child/cgroup.procs": "812\n77\n", "ctop/idle/cgroup.procs": ""} {
		if err := os.WriteFile(filepath.Join(f.Root(), "sys/fs/cgroup", p), []byte(procs), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Load(f, "/ctop/web")
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := m.FirstPid(); pid != 77 || err != nil {
		t.Errorf("FirstPid of /ctop/web = %d, %v; want 77, the lowest below it", pid, err)
	}
	m, err = Load(f, "/ctop/idle")
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := m.FirstPid(); err == nil || err.Error() != "no process runs in /ctop/idle" {
		t.Errorf("FirstPid of an empty group = %d, %v; want an error naming it", pid, err)
	}
}
