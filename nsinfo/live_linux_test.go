package nsinfo

import (
	"bufio"
	"encoding/json"
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

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// Live tests start their own processes in new namespaces and check what
// nsinfo reports against independent sources: lsns -J, /proc/PID/status and
// stat(2) of the links. They touch no process they did not start.

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creating namespaces and reading every process's links")
	}
}

// start runs argv with the given clone flags, killing and reaping it (and,
// through the pid namespace or Pdeathsig, its children) in cleanup.
func start(t *testing.T, flags uintptr, argv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if flags&syscall.CLONE_NEWUSER != 0 {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start %v with clone flags %#x: %v", argv, flags, err)
	}
	t.Cleanup(func() {
		// The process group holds the child and what it forked.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}

// waitComm waits until each pid runs comm (the shell has exec'ed).
func waitComm(t *testing.T, comm string, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			if err == nil && strings.TrimSpace(string(b)) == comm {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("pid %d does not run %s: %q %v", pid, comm, b, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// childrenOf returns the pids whose parent is ppid, from /proc/PID/stat.
func childrenOf(t *testing.T, procs []Process, ppid int) []int {
	var out []int
	for _, p := range procs {
		if p.PPID == ppid {
			out = append(out, p.PID)
		}
	}
	return out
}

// lsnsEntry is one namespace of lsns -J.
type lsnsEntry struct {
	NS      uint64 `json:"ns"`
	Type    string `json:"type"`
	NProcs  int    `json:"nprocs"`
	PID     int    `json:"pid"`
	User    string `json:"user"`
	Command string `json:"command"`
	// Children: lsns nests a namespace under its parent (pid and user
	// namespaces) or under the namespace of its owner's parent process.
	Children []lsnsEntry `json:"children,omitempty"`
}

func lsns(t *testing.T) map[string]lsnsEntry {
	t.Helper()
	path, err := exec.LookPath("lsns")
	if err != nil {
		t.Skip("lsns (util-linux) not installed")
	}
	out, err := exec.Command(path, "-J").Output()
	if err != nil {
		t.Fatalf("lsns -J: %v", err)
	}
	var doc struct{ Namespaces []lsnsEntry }
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("lsns -J output: %v", err)
	}
	m := map[string]lsnsEntry{}
	var walk func([]lsnsEntry)
	walk = func(es []lsnsEntry) {
		for _, e := range es {
			walk(e.Children)
			e.Children = nil
			m[e.Type+":"+strconv.FormatUint(e.NS, 10)] = e
		}
	}
	walk(doc.Namespaces)
	return m
}

// statusNSpid reads the NSpid line of /proc/PID/status.
func statusNSpid(t *testing.T, pid int) []int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "NSpid:"); ok {
			var out []int
			for _, f := range strings.Fields(rest) {
				n, err := strconv.Atoi(f)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, n)
			}
			return out
		}
	}
	t.Skip("kernel without NSpid in /proc/PID/status")
	return nil
}

func byPID(procs []Process) map[int]Process {
	m := make(map[int]Process, len(procs))
	for _, p := range procs {
		m[p.PID] = p
	}
	return m
}

const isolatedFlags = syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID

var isolatedTypes = []Type{UTS, IPC, Net, Mnt, PID}

func TestLiveAgainstLsns(t *testing.T) {
	needRoot(t)
	// Two processes in new uts/ipc/net/mnt/pid namespaces: the shell execs
	// sleep (pid 1 inside) after forking another sleep (pid 2 inside).
	box := start(t, isolatedFlags, "/bin/sh", "-c", "sleep 600 & exec sleep 600")
	plain := start(t, 0, "sleep", "600")

	fs, err := Open("/")
	if err != nil {
		t.Fatal(err)
	}
	var procs []Process
	deadline := time.Now().Add(10 * time.Second)
	for {
		if procs, err = fs.Processes(); err != nil {
			t.Fatal(err)
		}
		if len(childrenOf(t, procs, box.Process.Pid)) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	kids := childrenOf(t, procs, box.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("the isolated shell has children %v, want one sleep", kids)
	}
	members := []int{box.Process.Pid, kids[0]}
	waitComm(t, "sleep", append(members, plain.Process.Pid)...)

	// Read as ctop ns does, then ask lsns.
	nsOnly, err := fs.ProcessesWith(FieldNS)
	if err != nil {
		t.Fatal(err)
	}
	groups := Group(nsOnly)
	if err := fs.FillOwners(groups); err != nil {
		t.Fatal(err)
	}
	want := lsns(t)
	if procs, err = fs.Processes(); err != nil {
		t.Fatal(err)
	}
	ps := byPID(procs)
	ref, err := Host(procs)
	if err != nil {
		t.Fatal(err)
	}

	box1 := ps[box.Process.Pid]
	for _, typ := range isolatedTypes {
		id := box1.NS.Get(typ)
		var got *Namespace
		for i := range groups {
			if groups[i].Type == typ && groups[i].ID == id {
				got = &groups[i]
			}
		}
		if got == nil {
			t.Errorf("%s namespace %v of the isolated shell not grouped", typ, id)
			continue
		}
		l, ok := want[string(typ)+":"+strconv.FormatUint(id.Ino, 10)]
		if !ok {
			t.Errorf("lsns does not list %s:%d", typ, id.Ino)
			continue
		}
		g := lsnsEntry{NS: got.ID.Ino, Type: string(got.Type), NProcs: got.NProcs, PID: got.PID, User: got.User, Command: got.Command}
		if diff := cmp.Diff(l, g); diff != "" {
			t.Errorf("%s namespace (-lsns +nsinfo):\n%s", typ, diff)
		}
		if !slices.Equal(got.PIDs, members) {
			t.Errorf("%s namespace holds %v, want %v", typ, got.PIDs, members)
		}
		if ref.NS.Get(typ) == id {
			t.Errorf("%s namespace of the isolated shell is the host's", typ)
		}
	}

	// The reference is lsns's owner of each initial namespace.
	for i, typ := range Types() {
		if !ref.NS[i].Known() {
			t.Errorf("reference %s unknown", typ)
			continue
		}
		l, ok := want[string(typ)+":"+strconv.FormatUint(ref.NS[i].Ino, 10)]
		if !ok {
			t.Errorf("lsns does not list the reference's %s:%d", typ, ref.NS[i].Ino)
			continue
		}
		if l.PID != ref.From[i] {
			t.Errorf("reference %s read from pid %d; lsns's owner of %d is pid %d", typ, ref.From[i], l.NS, l.PID)
		}
	}

	// Isolation: what was asked for is not shared, the rest is.
	for _, c := range []struct {
		pid      int
		isolated []Type
	}{{box.Process.Pid, isolatedTypes}, {kids[0], isolatedTypes}, {plain.Process.Pid, nil}} {
		iso, err := fs.Diff(ref, ps[c.pid])
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range iso.Namespaces {
			if !d.Known || d.Shared == slices.Contains(c.isolated, d.Type) {
				t.Errorf("pid %d %s: known %v shared %v, want shared %v", c.pid, d.Type, d.Known, d.Shared, !slices.Contains(c.isolated, d.Type))
			}
		}
		root, err := os.Readlink(fmt.Sprintf("/proc/%d/root", c.pid))
		if err != nil || iso.Root != root {
			t.Errorf("pid %d root %q, want %q (%v)", c.pid, iso.Root, root, err)
		}
		if iso.Unavailable != 0 {
			t.Errorf("pid %d: unavailable %v as root", c.pid, iso.Unavailable)
		}
	}
}

func TestLiveNSpidAndIDs(t *testing.T) {
	needRoot(t)
	box := start(t, isolatedFlags|syscall.CLONE_NEWUSER, "sleep", "600")
	waitComm(t, "sleep", box.Process.Pid)
	fs, err := Open("/")
	if err != nil {
		t.Fatal(err)
	}
	p, err := fs.Process(box.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if want := statusNSpid(t, p.PID); !slices.Equal(p.NSpid, want) {
		t.Errorf("NSpid %v, /proc/%d/status says %v", p.NSpid, p.PID, want)
	}
	if p.OwnPID() != 1 {
		t.Errorf("own pid %d, want 1: the first process of a new pid namespace", p.OwnPID())
	}
	// (device, inode) as stat(2) of each link reports them.
	for i, typ := range Types() {
		var st unix.Stat_t
		if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", p.PID, typ), &st); err != nil {
			t.Fatal(err)
		}
		if want := (ID{Dev: st.Dev, Ino: st.Ino}); p.NS[i] != want {
			t.Errorf("%s: %+v, stat says %+v", typ, p.NS[i], want)
		}
	}
	procs, err := fs.Processes()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Host(procs)
	if err != nil {
		t.Fatal(err)
	}
	iso, err := fs.Diff(ref, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", p.PID))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(iso.UIDMap) != 1 || f[0] != strconv.FormatUint(iso.UIDMap[0].Inside, 10) ||
		f[1] != strconv.FormatUint(iso.UIDMap[0].Outside, 10) || f[2] != strconv.FormatUint(iso.UIDMap[0].Count, 10) {
		t.Errorf("uid map %+v, /proc says %q", iso.UIDMap, b)
	}
	for _, d := range iso.Namespaces {
		if d.Shared != (d.Type == Cgroup || d.Type == Time) {
			t.Errorf("%s shared %v", d.Type, d.Shared)
		}
	}
}

func TestLiveReaderCache(t *testing.T) {
	needRoot(t)
	fs, err := Open("/")
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(fs)
	if _, err := r.Processes(); err != nil {
		t.Fatal(err)
	}
	// A process started after the first read must be read afresh.
	box := start(t, isolatedFlags, "sleep", "600")
	waitComm(t, "sleep", box.Process.Pid)
	got, err := r.Processes()
	if err != nil {
		t.Fatal(err)
	}
	want, err := fs.Process(box.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := byPID(got)[box.Process.Pid]; !ok || p.NS != want.NS {
		t.Errorf("reader: %+v, fresh read: %+v", p.NS, want.NS)
	}
}

// TestLiveNonRoot re-runs this test binary as nobody: reading must not
// fail, other users' links must be unavailable and the own ones known.
func TestLiveNonRoot(t *testing.T) {
	if os.Getenv("NSINFO_NONROOT_HELPER") == "1" {
		nonRootHelper()
		return
	}
	needRoot(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(dir); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755) // t.TempDir's parent, made for this test
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "nsinfo.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestLiveNonRoot$")
	cmd.Env = append(os.Environ(), "NSINFO_NONROOT_HELPER=1")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	var r struct {
		Self                 int
		SelfKnown            bool
		Procs, NSUnavailable int
		Ref                  int
		RefErr               string
	}
	line := out
	if i := strings.IndexByte(string(out), '\n'); i >= 0 {
		line = out[:i]
	}
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	if !r.SelfKnown {
		t.Errorf("as nobody, own namespaces unknown: %+v", r)
	}
	if r.NSUnavailable == 0 || r.NSUnavailable >= r.Procs {
		t.Errorf("as nobody, %d of %d processes without namespaces; want root's unreadable, own readable", r.NSUnavailable, r.Procs)
	}
	if r.RefErr != "" {
		t.Errorf("as nobody, no reference: %s", r.RefErr)
	}
}

func nonRootHelper() {
	fs, err := Open("/")
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	procs, err := fs.Processes()
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	r := map[string]any{"Self": os.Getpid(), "Procs": len(procs)}
	n := 0
	for _, p := range procs {
		if p.Unavailable&FieldNS != 0 {
			n++
		}
		if p.PID == os.Getpid() {
			r["SelfKnown"] = p.Unavailable&FieldNS == 0
		}
	}
	r["NSUnavailable"] = n
	if ref, err := Host(procs); err != nil {
		r["RefErr"] = err.Error()
	} else {
		r["Ref"] = ref.PID
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	os.Exit(0)
}

// TestLiveTracker follows a process of its own in new namespaces through a
// Tracker: its namespaces against stat(2) of its links, its CPU time and
// RSS against /proc/PID/stat and statm, a move to a cgroup the test makes,
// and its exit (its kept stat descriptor closed).
func TestLiveTracker(t *testing.T) {
	needRoot(t)
	fs, err := Open("/")
	if err != nil {
		t.Fatal(err)
	}
	cmd := start(t, syscall.CLONE_NEWNET|syscall.CLONE_NEWUTS|syscall.CLONE_NEWIPC, "sleep", "1000")
	pid := cmd.Process.Pid
	waitComm(t, "sleep", pid)
	tr := NewTracker(fs)
	defer tr.Close()
	sample := func() Tracked {
		t.Helper()
		s := mustSample(t, tr)
		return trackedByPID(s)[pid]
	}
	// The process may still be starting (a slow VM): its CPU time is
	// checked between stat's before and after the sample.
	cpuBefore := statCPU(t, pid)
	got := sample()
	if got.Process == nil {
		t.Fatalf("pid %d not in the sample", pid)
	}
	for _, typ := range []Type{Net, UTS, IPC, Mnt} {
		var st syscall.Stat_t
		if err := syscall.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, typ), &st); err != nil {
			t.Fatal(err)
		}
		if id := got.Process.NS.Get(typ); id.Ino != st.Ino || id.Dev != st.Dev {
			t.Errorf("%s namespace %v, stat(2) of the link says %d:%d", typ, id, st.Dev, st.Ino)
		}
	}
	f := statFields(t, pid)
	if after := statCPU(t, pid); got.CPUTime < cpuBefore || got.CPUTime > after {
		t.Errorf("CPU time %v, stat says %v before the sample and %v after", got.CPUTime, cpuBefore, after)
	}
	// stat's rss (field 24); statm and status count the same pages more
	// precisely on recent kernels, so they may differ by a few pages.
	rss, _ := strconv.ParseUint(f[21], 10, 64)
	if got.RSS != rss*uint64(os.Getpagesize()) {
		t.Errorf("RSS %d, stat says %d pages", got.RSS, rss)
	}

	// Move it to a cgroup of the test's own: the sample shows it within
	// RefreshEvery samples, as /proc/PID/cgroup says.
	hier := "/sys/fs/cgroup"
	if _, err := os.Stat(filepath.Join(hier, "cgroup.controllers")); err != nil {
		hier = "/sys/fs/cgroup/pids" // v1 or hybrid
	}
	group := fmt.Sprintf("/ctop-test-%d-tracker", os.Getpid())
	dir := filepath.Join(hier, group)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a cgroup: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		for i := 0; i < 100 && os.Remove(dir) != nil; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("cgroup %s remains", dir)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	moved := false
	for range tr.RefreshEvery {
		for _, e := range sample().Process.Cgroups {
			if e.Path == group {
				moved = true
			}
		}
	}
	if !moved {
		t.Errorf("a move to %s did not show within %d samples", group, tr.RefreshEvery)
	}
	fresh, err := fs.Process(pid)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh.Cgroups, sample().Process.Cgroups); diff != "" {
		t.Errorf("cgroups differ from a fresh read (-fresh +tracker):\n%s", diff)
	}

	// Once it exits it leaves the sample, and its stat is no longer held.
	_ = syscall.Kill(pid, syscall.SIGKILL)
	_ = cmd.Wait()
	if p := sample(); p.Process != nil {
		t.Errorf("pid %d still sampled after it exited", pid)
	}
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, _ := os.Readlink("/proc/self/fd/" + fd.Name()); l == fmt.Sprintf("/proc/%d/stat", pid) {
			t.Errorf("fd %s still holds %s", fd.Name(), l)
		}
	}
}

// TestLiveTrackerSeesNewProcess: a process started after a sample is in
// the next one (its pid moved the last pid of /proc/loadavg).
func TestLiveTrackerSeesNewProcess(t *testing.T) {
	fs, err := Open("/")
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracker(fs)
	defer tr.Close()
	mustSample(t, tr)
	mustSample(t, tr)
	cmd := start(t, 0, "sleep", "1000")
	waitComm(t, "sleep", cmd.Process.Pid)
	s := mustSample(t, tr)
	p, ok := trackedByPID(s)[cmd.Process.Pid]
	if !ok || p.Process.Comm != "sleep" {
		t.Errorf("new pid %d not sampled as sleep (found %v)", cmd.Process.Pid, ok)
	}
}

// TestLiveTrackerSkipsNewThreads: threads started after a sample move the
// last pid handed out, and /proc/TID answers for each; none is sampled as
// a process, while the process they belong to still is.
func TestLiveTrackerSkipsNewThreads(t *testing.T) {
	fs, err := Open("/")
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracker(fs)
	defer tr.Close()
	mustSample(t, tr)
	mustSample(t, tr)
	// A goroutine locked to its thread keeps it: each of these runs on a
	// thread of its own, most of them new.
	const n = 4
	tids := make(chan int, n)
	release := make(chan struct{})
	defer close(release)
	for range n {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			tids <- unix.Gettid()
			<-release
		}()
	}
	var ours []int
	for range n {
		ours = append(ours, <-tids)
	}
	for range 2 { // the pids are looked up in two samples
		got := trackedByPID(mustSample(t, tr))
		for _, tid := range ours {
			if p, ok := got[tid]; ok && tid != os.Getpid() {
				t.Errorf("thread %d of this test sampled as a process (%s)", tid, p.Process.Comm)
			}
		}
		if _, ok := got[os.Getpid()]; !ok {
			t.Errorf("this test's process %d not sampled", os.Getpid())
		}
	}
}

// statFields are the fields of /proc/PID/stat after comm: state is [0].
func statFields(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
}

// statCPU is pid's user plus system time from /proc/PID/stat.
func statCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	f := statFields(t, pid)
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
