package nsinfo

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Inode numbers of the fixtures' namespaces, read from their ns symlinks.
const (
	// testdata/v2: Ubuntu 24.04, pure cgroup v2 (the host's namespaces).
	v2Mnt, v2Net, v2PID, v2UTS, v2IPC, v2User, v2Cgroup, v2Time = 4026531832, 4026531833, 4026531836, 4026531838, 4026531839, 4026531837, 4026531835, 4026531834
	// pid 424 of testdata/v2, unshared into new pid, net, uts, ipc, mnt, cgroup.
	v2Mnt424, v2Net424, v2PID424, v2UTS424, v2IPC424, v2Cgroup424 = 4026532186, 4026532265, 4026532263, 4026532261, 4026532262, 4026532264
)

func nsSet(mnt, net, pid, uts, ipc, user, cgroup, time uint64) NSSet {
	return NSSet{{Ino: mnt}, {Ino: net}, {Ino: pid}, {Ino: uts}, {Ino: ipc}, {Ino: user}, {Ino: cgroup}, {Ino: time}}
}

func openFixture(t *testing.T, name string) FS {
	t.Helper()
	fs, err := Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestProcessesV2(t *testing.T) {
	fs := openFixture(t, "v2")
	got, err := fs.Processes()
	if err != nil {
		t.Fatal(err)
	}
	host := nsSet(v2Mnt, v2Net, v2PID, v2UTS, v2IPC, v2User, v2Cgroup, v2Time)
	// testdata/v2 has no etc/passwd: users are shown by number. Its
	// processes have no seccomp filter.
	sc := Seccomp{Mode: SeccompDisabled, Known: true}
	want := []Process{
		{PID: 402, PPID: 401, NSpid: []int{402}, UID: 0, GID: 0, User: "0", Seccomp: sc, Comm: "bash", StartTime: 2408, NS: host,
			Cgroups: []CgroupEntry{{Path: "/process_api/1b89207e7c1b19b99472ce6b697fe93d"}}, Unavailable: FieldCmdline},
		{PID: 409, PPID: 402, NSpid: []int{409}, UID: 0, GID: 0, User: "0", Seccomp: sc, Comm: "sh", StartTime: 2416, NS: host,
			Cgroups: []CgroupEntry{{Path: "/ctopfixture/web"}}, Unavailable: FieldCmdline},
		{PID: 424, PPID: 422, NSpid: []int{424, 1}, UID: 0, GID: 0, User: "0", Seccomp: sc, Comm: "sh", StartTime: 2519,
			NS:      nsSet(v2Mnt424, v2Net424, v2PID424, v2UTS424, v2IPC424, v2User, v2Cgroup424, v2Time),
			Cgroups: []CgroupEntry{{Path: "/process_api/1b89207e7c1b19b99472ce6b697fe93d"}}, Unavailable: FieldCmdline},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Processes (-want +got):\n%s", diff)
	}
	if got[2].OwnPID() != 1 {
		t.Errorf("OwnPID of 424 = %d, want 1 (first process of its pid namespace)", got[2].OwnPID())
	}
}

func TestGroupV2(t *testing.T) {
	procs, err := openFixture(t, "v2").Processes()
	if err != nil {
		t.Fatal(err)
	}
	ns := func(typ Type, ino uint64, pids ...int) Namespace {
		cmd := map[int]string{402: "bash", 424: "sh"}[pids[0]]
		return Namespace{Type: typ, ID: ID{Ino: ino}, NProcs: len(pids), PID: pids[0], User: "0", Command: cmd, Args: []string{cmd}, PIDs: pids}
	}
	want := []Namespace{
		ns(Mnt, v2Mnt, 402, 409),
		ns(Net, v2Net, 402, 409),
		ns(Time, v2Time, 402, 409, 424),
		ns(Cgroup, v2Cgroup, 402, 409),
		ns(PID, v2PID, 402, 409),
		ns(User, v2User, 402, 409, 424),
		ns(UTS, v2UTS, 402, 409),
		ns(IPC, v2IPC, 402, 409),
		ns(Mnt, v2Mnt424, 424),
		ns(UTS, v2UTS424, 424),
		ns(IPC, v2IPC424, 424),
		ns(PID, v2PID424, 424),
		ns(Cgroup, v2Cgroup424, 424),
		ns(Net, v2Net424, 424),
	}
	if diff := cmp.Diff(want, Group(procs)); diff != "" {
		t.Errorf("Group (-want +got):\n%s", diff)
	}
}

func TestHybridUnreadableInit(t *testing.T) {
	// testdata/hybrid comes from a host where even root may not read pid 1's
	// namespace links (capture.sh left them out); lsns shows kthreadd, pid 2,
	// as the owner of the initial namespaces there.
	fs := openFixture(t, "hybrid")
	procs, err := fs.Processes()
	if err != nil {
		t.Fatal(err)
	}
	byPID := map[int]Process{}
	for _, p := range procs {
		byPID[p.PID] = p
	}
	if init := byPID[1]; init.NS != (NSSet{}) || init.Unavailable&FieldNS == 0 || init.Comm != "process_api" {
		t.Errorf("pid 1 = %+v, want its stat read and every namespace unknown", init)
	}
	ref, err := Host(procs)
	if err != nil {
		t.Fatal(err)
	}
	kthreadd := byPID[2]
	want := Reference{NS: kthreadd.NS, PID: 2, Comm: "kthreadd", From: [numTypes]int{2, 2, 2, 2, 2, 2, 2, 2}}
	if diff := cmp.Diff(want, ref); diff != "" {
		t.Errorf("Host (-want +got):\n%s", diff)
	}
	if byPID[3073].User != "root" {
		t.Errorf("user of 3073 = %q, want root from testdata/hybrid/etc/passwd", byPID[3073].User)
	}
	if got := CgroupPath(byPID[16039].Cgroups); got != "/process_api/1a7f3d07eb4cb1f78c76369fc547e1d5" {
		t.Errorf("CgroupPath of 16039 = %q, want its memory cgroup", got)
	}
	for _, ns := range Group(procs) {
		if ns.PID == 1 {
			t.Errorf("namespace %+v owned by pid 1, whose links are unreadable", ns)
		}
	}
}

func TestHostV2(t *testing.T) {
	procs, err := openFixture(t, "v2").Processes()
	if err != nil {
		t.Fatal(err)
	}
	// No process of the snapshot has parent 0, so the lowest pid serves.
	ref, err := Host(procs)
	if err != nil {
		t.Fatal(err)
	}
	want := Reference{NS: procs[0].NS, PID: 402, Comm: "bash", From: [numTypes]int{402, 402, 402, 402, 402, 402, 402, 402}}
	if diff := cmp.Diff(want, ref); diff != "" {
		t.Errorf("Host (-want +got):\n%s", diff)
	}
	if _, err := Host([]Process{{PID: 5}}); !errors.Is(err, ErrNoReference) {
		t.Errorf("Host with no readable links: error = %v, want ErrNoReference", err)
	}
}

func TestHostPartlyReadable(t *testing.T) {
	// A first candidate with one unreadable link leaves that type to the next.
	a := Process{PID: 1, Comm: "init", NS: nsSet(1, 2, 3, 4, 5, 6, 7, 8)}
	a.NS[Net.index()] = ID{}
	b := Process{PID: 2, Comm: "kthreadd", NS: nsSet(1, 20, 3, 4, 5, 6, 7, 8)}
	c := Process{PID: 3, PPID: 2, NS: nsSet(1, 30, 3, 4, 5, 6, 7, 8)}
	ref, err := Host([]Process{c, b, a})
	if err != nil {
		t.Fatal(err)
	}
	want := Reference{NS: nsSet(1, 20, 3, 4, 5, 6, 7, 8), PID: 1, Comm: "init", From: [numTypes]int{1, 2, 1, 1, 1, 1, 1, 1}}
	if diff := cmp.Diff(want, ref); diff != "" {
		t.Errorf("Host (-want +got):\n%s", diff)
	}
}

func TestDiffHybrid(t *testing.T) {
	fs := openFixture(t, "hybrid")
	procs, err := fs.Processes()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Host(procs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pid      int
		isolated []Type // what `unshare` was asked for (see testdata/hybrid/PIDS)
		uidMap   []IDMapEntry
	}{
		{3073, nil, []IDMapEntry{{0, 0, 4294967295}}},
		{16039, []Type{Mnt, Net, PID, UTS, IPC, Cgroup}, []IDMapEntry{{0, 0, 4294967295}}},
		{16038, []Type{User}, []IDMapEntry{{0, 0, 1}}},
	}
	for _, tt := range tests {
		p, err := fs.Process(tt.pid)
		if err != nil {
			t.Fatal(err)
		}
		iso, err := fs.Diff(ref, p)
		if err != nil {
			t.Fatal(err)
		}
		want := Isolation{PID: tt.pid, Reference: 2, Cgroups: p.Cgroups, UIDMap: tt.uidMap, GIDMap: tt.uidMap, Root: "/"}
		for i, typ := range Types() {
			isolated := false
			for _, it := range tt.isolated {
				isolated = isolated || it == typ
			}
			want.Namespaces = append(want.Namespaces, NSDiff{Type: typ, Host: ref.NS[i], Proc: p.NS[i], Known: true, Shared: !isolated})
		}
		if diff := cmp.Diff(want, iso); diff != "" {
			t.Errorf("Diff of %d (-want +got):\n%s", tt.pid, diff)
		}
	}
	// pid 1: nothing readable but its maps.
	p, err := fs.Process(1)
	if err != nil {
		t.Fatal(err)
	}
	iso, err := fs.Diff(ref, p)
	if err != nil {
		t.Fatal(err)
	}
	if iso.Unavailable != FieldNS|FieldRoot {
		t.Errorf("Diff of pid 1: unavailable = %v, want ns,root", iso.Unavailable)
	}
}

func TestProcessCmdline(t *testing.T) {
	fs := openFixture(t, "hybrid")
	p, err := fs.Process(16035)
	if err != nil {
		t.Fatal(err)
	}
	if want := "unshare --fork --pid --net --uts --ipc --mount --cgroup sleep 600"; p.Cmdline != want || p.Command() != want {
		t.Errorf("Cmdline = %q, want %q", p.Cmdline, want)
	}
	// Kernel threads have an empty command line: Command falls back to comm.
	k, err := fs.Process(2)
	if err != nil {
		t.Fatal(err)
	}
	if k.Cmdline != "" || k.Command() != "kthreadd" {
		t.Errorf("kthreadd: Cmdline %q, Command %q", k.Cmdline, k.Command())
	}
	if _, err := fs.Process(99999); !errors.Is(err, ErrNoProcess) {
		t.Errorf("Process(99999) error = %v, want ErrNoProcess", err)
	}
}

func TestFillOwners(t *testing.T) {
	fs := openFixture(t, "hybrid")
	procs, err := fs.ProcessesWith(FieldNS)
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 6 {
		t.Errorf("ProcessesWith(FieldNS) read %d processes, want the 6 with links (pid 1 has none)", len(procs))
	}
	nss := Group(procs)
	if err := fs.FillOwners(nss); err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss {
		p, err := fs.Process(ns.PID)
		if err != nil {
			t.Fatal(err)
		}
		if ns.User != "root" || ns.Command != p.Command() {
			t.Errorf("%s %d: owner %d %q %q, want root %q", ns.Type, ns.ID.Ino, ns.PID, ns.User, ns.Command, p.Command())
		}
	}
}

// copyTree copies a fixture tree, links as links, so a test can change it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	copyDir(t, src, dst)
	return dst
}

// copyDir copies the tree at src to dst, links as links.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(l, to)
		case info.IsDir():
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReaderReusesNamespaces(t *testing.T) {
	root := copyTree(t, filepath.Join("testdata", "v2"))
	fs, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(fs)
	first, err := r.Processes()
	if err != nil {
		t.Fatal(err)
	}
	// Move 409 to another net namespace behind the reader's back.
	link := filepath.Join(root, "proc", "409", "ns", "net")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("net:[4026599999]", link); err != nil {
		t.Fatal(err)
	}
	second, err := r.Processes()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("same pid and start time: namespaces not reused (-first +second):\n%s", diff)
	}
	// A new process instance under the same pid: a different start time.
	stat := filepath.Join(root, "proc", "409", "stat")
	b, err := os.ReadFile(stat)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stat, []byte(strings.Replace(string(b), " 2416 ", " 2417 ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	third, err := r.Processes()
	if err != nil {
		t.Fatal(err)
	}
	if got := third[1].NS.Get(Net); got != (ID{Ino: 4026599999}) {
		t.Errorf("new instance of 409: net = %v, want it read again (4026599999)", got)
	}
	fresh, err := fs.Processes()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh, third); diff != "" {
		t.Errorf("Reader after a change differs from a fresh read (-fresh +reader):\n%s", diff)
	}
}

func TestParseErrorNamesFile(t *testing.T) {
	root := copyTree(t, filepath.Join("testdata", "v2"))
	stat := filepath.Join(root, "proc", "409", "stat")
	if err := os.WriteFile(stat, []byte("409 sh S\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fs.Processes()
	if !errors.Is(err, ErrParse) || !strings.Contains(err.Error(), stat) || !strings.Contains(err.Error(), "409 sh S") {
		t.Errorf("Processes with a broken stat: error = %v, want ErrParse naming %s and its text", err, stat)
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("Open of a root without proc: no error")
	}
}

func TestArgs(t *testing.T) {
	if got := args([]byte("sh\x00-c\x00echo a  b\x00")); !slices.Equal(got, []string{"sh", "-c", "echo a  b"}) {
		t.Errorf("args = %q", got)
	}
	if got := (Process{Comm: "kthreadd"}).Argv(); !slices.Equal(got, []string{"kthreadd"}) {
		t.Errorf("Argv of a kernel thread = %q, want its name", got)
	}
}
