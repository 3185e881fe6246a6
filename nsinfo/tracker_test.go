package nsinfo

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestParseStatSample(t *testing.T) {
	// A command name with spaces and a ')' of its own, as comm may be.
	line := "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 120 0 0 0 " +
		"37 5 0 0 20 0 1 0 98765 12345678 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	got, err := parseStatSample([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if string(got.comm) != "my (odd) cmd" || got.cpu != 42 || got.start != 98765 || got.rss != 321 {
		t.Errorf("parseStatSample = comm %q cpu %d start %d rss %d, want \"my (odd) cmd\" 42 98765 321",
			got.comm, got.cpu, got.start, got.rss)
	}
	for _, bad := range []string{"", "1 (x S 1", "1 (x) S 1 2 3", strings.Replace(line, " 37 ", " -3 ", 1)} {
		if _, err := parseStatSample([]byte(bad)); err == nil {
			t.Errorf("parseStatSample(%q) did not fail", bad)
		}
	}
}

// fixtureTracker is a Tracker of the fixture tree at root, closed at the
// end of the test.
func fixtureTracker(t *testing.T, root string) (FS, *Tracker) {
	t.Helper()
	fs, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracker(fs)
	t.Cleanup(func() { tr.Close() })
	return fs, tr
}

func mustSample(t *testing.T, tr *Tracker) Sample {
	t.Helper()
	s, err := tr.Sample()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// trackedByPID indexes a sample.
func trackedByPID(s Sample) map[int]Tracked {
	m := map[int]Tracked{}
	for _, p := range s.Procs {
		m[p.Process.PID] = p
	}
	return m
}

func TestTrackerFixture(t *testing.T) {
	root := copyTree(t, filepath.Join("testdata", "v2"))
	fs, tr := fixtureTracker(t, root)
	first := mustSample(t, tr)
	// The first sample holds what a fresh read of every process holds.
	want, err := fs.Processes()
	if err != nil {
		t.Fatal(err)
	}
	var got []Process
	for _, p := range first.Procs {
		got = append(got, *p.Process)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first sample differs from Processes (-want +got):\n%s", diff)
	}
	// Its host reference is the one Host picks among those processes.
	wantRef, err := Host(want)
	if err != nil {
		t.Fatal(err)
	}
	if ref, err := first.Host(); err != nil || ref != wantRef {
		t.Errorf("Sample.Host = %+v, %v; Host says %+v", ref, err, wantRef)
	}
	// 402's stat: utime 5 + stime 24 ticks, rss 997 pages.
	if p := trackedByPID(first)[402]; p.CPUTime != 290*time.Millisecond || p.RSS != 997*pageSize {
		t.Errorf("402: cpu %v rss %d, want 290ms and %d", p.CPUTime, p.RSS, 997*pageSize)
	}
	p409 := trackedByPID(first)[409]
	if !first.Changed {
		t.Error("first sample: Changed false")
	}

	// Nothing changed: the same Process pointers, nothing read anew.
	second := mustSample(t, tr)
	if second.Changed || trackedByPID(second)[409].Process != p409.Process {
		t.Errorf("unchanged tree: Changed %v, 409 re-read %v", second.Changed, trackedByPID(second)[409].Process != p409.Process)
	}

	// 409 moves to another cgroup: it shows within RefreshEvery samples.
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, "proc", "409", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cgroup", "0::/moved.slice\n")
	seenAt := 0
	for i := 1; i <= int(tr.RefreshEvery); i++ {
		s := mustSample(t, tr)
		if cg := trackedByPID(s)[409].Process.Cgroups; len(cg) == 1 && cg[0].Path == "/moved.slice" {
			if !s.Changed {
				t.Error("cgroup change: Changed false")
			}
			seenAt = i
			break
		}
	}
	if seenAt == 0 {
		t.Errorf("a cgroup move did not show within %d samples", tr.RefreshEvery)
	}

	// Reparented (its parent exited): the next sample has the new parent.
	b, err := os.ReadFile(filepath.Join(root, "proc", "409", "stat"))
	if err != nil {
		t.Fatal(err)
	}
	write("stat", strings.Replace(string(b), "(sh) S 402 ", "(sh) S 1 ", 1))
	if s, err := tr.Sample(); err != nil || trackedByPID(s)[409].Process.PPID != 1 || !s.Changed {
		t.Errorf("after reparenting: ppid %d, Changed %v, err %v", trackedByPID(s)[409].Process.PPID, s.Changed, err)
	}
	write("stat", string(b))

	// A setuid(2) without exec shows within RefreshEvery*NSEvery samples.
	status, err := os.ReadFile(filepath.Join(root, "proc", "409", "status"))
	if err != nil {
		t.Fatal(err)
	}
	write("status", strings.Replace(string(status), "Uid:\t0\t0\t0\t0", "Uid:\t65534\t65534\t65534\t65534", 1))
	setuid := false
	for range tr.RefreshEvery * tr.NSEvery {
		s := mustSample(t, tr)
		if trackedByPID(s)[409].Process.UID == 65534 {
			setuid = true
			break
		}
	}
	if !setuid {
		t.Errorf("a change of uid did not show within %d samples", tr.RefreshEvery*tr.NSEvery)
	}

	// An exec (a new command name) is read in full at the next sample,
	// namespaces included.
	link := filepath.Join(root, "proc", "409", "ns", "net")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("net:[4026599999]", link); err != nil {
		t.Fatal(err)
	}
	write("stat", strings.Replace(string(b), "(sh)", "(sleep)", 1))
	s := mustSample(t, tr)
	p := trackedByPID(s)[409].Process
	if p.Comm != "sleep" || p.NS.Get(Net) != (ID{Ino: 4026599999}) {
		t.Errorf("after exec: comm %q net %v, want sleep and 4026599999", p.Comm, p.NS.Get(Net))
	}

	// A process that is gone leaves the sample.
	if err := os.RemoveAll(filepath.Join(root, "proc", "424")); err != nil {
		t.Fatal(err)
	}
	s = mustSample(t, tr)
	if _, ok := trackedByPID(s)[424]; ok || !s.Changed {
		t.Errorf("424 removed: still there %v, Changed %v", ok, s.Changed)
	}
}

func TestTrackerParseErrorNamesFile(t *testing.T) {
	root := copyTree(t, filepath.Join("testdata", "v2"))
	if err := os.WriteFile(filepath.Join(root, "proc", "409", "stat"), []byte("409 (sh) S\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, tr := fixtureTracker(t, root)
	_, err := tr.Sample()
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "proc", "409", "stat")) {
		t.Errorf("Sample error = %v, want one naming 409's stat", err)
	}
}

// TestTrackerListsOnNewPID: /proc is listed again only when the last pid
// in /proc/loadavg moved (and once more after that).
func TestTrackerListsOnNewPID(t *testing.T) {
	root := copyTree(t, filepath.Join("testdata", "v2"))
	loadavg := filepath.Join(root, "proc", "loadavg")
	if err := os.WriteFile(loadavg, []byte("0.00 0.01 0.05 1/90 424\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, tr := fixtureTracker(t, root)
	mustSample(t, tr)
	// The fixture's loadavg is no procfs file, which the tracker rightly
	// distrusts; the test hands it over as if it were.
	if tr.lists.loadavg != noLoadavg {
		t.Fatalf("a loadavg outside procfs was trusted (descriptor %d)", tr.lists.loadavg)
	}
	fd, err := unix.Open(loadavg, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	tr.lists.loadavg = fd
	mustSample(t, tr) // a new last pid: listed,
	mustSample(t, tr) // and once more
	// A new process directory (a copy of 409 as pid 500).
	copyDir(t, filepath.Join(root, "proc", "409"), filepath.Join(root, "proc", "500"))
	s := mustSample(t, tr)
	if _, ok := trackedByPID(s)[500]; ok {
		t.Error("pid 500 listed although loadavg says no pid was handed out")
	}
	if err := os.WriteFile(loadavg, []byte("0.00 0.01 0.05 1/91 500\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = mustSample(t, tr)
	if _, ok := trackedByPID(s)[500]; !ok || !s.Changed {
		t.Errorf("pid 500 after loadavg moved: listed %v, Changed %v", ok, s.Changed)
	}
	mustSample(t, tr) // the same pids looked up again

	// Pids handed out since are looked up by number, not by listing: a
	// thread's (/proc/TID answers, exit_signal -1) is no process, and a
	// pid beyond the last one handed out (a clone3 set_tid) waits for the
	// next listing, at most RefreshEvery samples away.
	copyDir(t, filepath.Join(root, "proc", "409"), filepath.Join(root, "proc", "505"))
	stat, err := os.ReadFile(filepath.Join(root, "proc", "409", "stat"))
	if err != nil {
		t.Fatal(err)
	}
	thread := strings.Replace(strings.Replace(string(stat), "409 (sh)", "505 (sh)", 1), " 0 0 17 15 ", " 0 0 -1 15 ", 1)
	if thread == string(stat) {
		t.Fatal("fixture stat of 409 has no exit_signal 17 to replace")
	}
	if err := os.WriteFile(filepath.Join(root, "proc", "505", "stat"), []byte(thread), 0o644); err != nil {
		t.Fatal(err)
	}
	copyDir(t, filepath.Join(root, "proc", "409"), filepath.Join(root, "proc", "506"))
	copyDir(t, filepath.Join(root, "proc", "409"), filepath.Join(root, "proc", "600"))
	if err := os.WriteFile(loadavg, []byte("0.00 0.01 0.05 1/93 510\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = mustSample(t, tr)
	got := trackedByPID(s)
	if _, ok := got[505]; ok {
		t.Error("thread 505 sampled as a process")
	}
	if _, ok := got[506]; !ok {
		t.Error("pid 506, handed out since, not sampled")
	}
	if _, ok := got[600]; ok {
		t.Error("pid 600 sampled although the last pid handed out is 510: the mount was listed")
	}
	found := false
	for range tr.RefreshEvery {
		if _, found = trackedByPID(mustSample(t, tr))[600]; found {
			break
		}
	}
	if !found {
		t.Errorf("pid 600 not sampled within %d samples", tr.RefreshEvery)
	}
}

// isThread tells a thread's stat from its process's: this test's own
// threads are at hand.
func TestIsThread(t *testing.T) {
	self, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip(err)
	}
	if isThread(self) {
		t.Errorf("the process's own stat taken for a thread's: %q", self)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	threads := 0
	for _, e := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/stat")
		if err != nil {
			continue // exited since
		}
		if want := e.Name() != pid; isThread(b) != want {
			t.Errorf("task %s: isThread %v, want %v (%q)", e.Name(), !want, want, b)
		}
		if e.Name() != pid {
			threads++
		}
	}
	if threads == 0 {
		t.Skip("the test process has no other thread")
	}
	for _, b := range []string{"", "1 (x)", "1 (a) b) S 0 1 1 0 -1"} {
		if isThread([]byte(b)) {
			t.Errorf("isThread(%q) = true for a short line", b)
		}
	}
}

// TestTrackerKernelThreadRename: a kernel thread whose name changes (a
// kworker names the queue it serves) is renamed, not read again as if it
// had exec'ed.
func TestTrackerKernelThreadRename(t *testing.T) {
	root := copyTree(t, filepath.Join("testdata", "hybrid"))
	_, tr := fixtureTracker(t, root)
	mustSample(t, tr)
	dir := filepath.Join(root, "proc", "2")
	for name, from := range map[string]string{"stat": "(kthreadd)", "status": "Uid:\t0\t0\t0\t0"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		to := map[string]string{"stat": "(kworker/0:1-events)", "status": "Uid:\t7\t7\t7\t7"}[name]
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Replace(string(b), from, to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := mustSample(t, tr)
	p := trackedByPID(s)[2].Process
	if p.Comm != "kworker/0:1-events" || p.UID != 0 {
		t.Errorf("renamed kernel thread: comm %q uid %d, want the new name and uid 0 (no full re-read)", p.Comm, p.UID)
	}
}

// Kernel marks kernel threads; Cmdline reads command lines.
func TestTrackerKernelAndCmdline(t *testing.T) {
	root := copyTree(t, filepath.Join("testdata", "hybrid"))
	_, tr := fixtureTracker(t, root)
	tr.Cmdline = true
	got := trackedByPID(mustSample(t, tr))
	if !got[2].Kernel || got[1].Kernel {
		t.Errorf("Kernel: pid 2 %v, pid 1 %v; want kthreadd only", got[2].Kernel, got[1].Kernel)
	}
	if c := got[1].Process.Command(); !strings.HasPrefix(c, "/process_api --firecracker-init --addr") {
		t.Errorf("pid 1's command line %q", c)
	}
	if got[1].Process.Unavailable&FieldCmdline != 0 {
		t.Error("cmdline marked unavailable")
	}
	if got[1].Process.Args != nil {
		t.Errorf("Args %q kept: a Tracker keeps the line alone", got[1].Process.Args)
	}
	_, tr = fixtureTracker(t, root)
	if p := trackedByPID(mustSample(t, tr))[1].Process; p.Cmdline != "" {
		t.Errorf("without Cmdline the command line was read: %q", p.Cmdline)
	}
}

// A command line read again keeps its string while unchanged and shows
// a rewritten one (sshd retitles itself).
func TestTrackerCmdlineReread(t *testing.T) {
	root := copyTree(t, filepath.Join("testdata", "hybrid"))
	_, tr := fixtureTracker(t, root)
	tr.Cmdline, tr.RefreshEvery, tr.NSEvery = true, 1, 1 // every sample re-reads
	first := trackedByPID(mustSample(t, tr))[1].Process.Cmdline
	again := trackedByPID(mustSample(t, tr))[1].Process.Cmdline
	if again != first || unsafe.StringData(again) != unsafe.StringData(first) {
		t.Errorf("unchanged command line %q read again into a new string", again)
	}
	if err := os.WriteFile(filepath.Join(root, "proc/1/cmdline"), []byte("sshd: root [priv]\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := trackedByPID(mustSample(t, tr))[1].Process.Cmdline; got != "sshd: root [priv]" {
		t.Errorf("rewritten command line = %q, want %q", got, "sshd: root [priv]")
	}
	if err := os.WriteFile(filepath.Join(root, "proc/1/cmdline"), []byte("sshd:\x00root\x00[priv]\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := trackedByPID(mustSample(t, tr))[1].Process.Cmdline; got != "sshd: root [priv]" {
		t.Errorf("same line as arguments = %q", got)
	}
}

func TestIsCmdline(t *testing.T) {
	for _, c := range []struct {
		b, line string
		want    bool
	}{
		{"a\x00b\x00", "a b", true},
		{"a b\x00", "a b", true},
		{"a\x00b", "a b", true},
		{"a\x00bc\x00", "a b", false},
		{"a\x00c\x00", "a b", false},
		{"", "", true},
		{"\x00", "", true},
		{"x", "", false},
	} {
		if got := isCmdline([]byte(c.b), c.line); got != c.want || got != (cmdline([]byte(c.b)) == c.line) {
			t.Errorf("isCmdline(%q, %q) = %v, want %v", c.b, c.line, got, c.want)
		}
	}
}
