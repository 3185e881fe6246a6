package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"0", 0}, {"512", 512}, {"512b", 512}, {"1k", 1 << 10}, {"1kb", 1 << 10}, {"1KiB", 1 << 10},
		{"32m", 32 << 20}, {"10mb", 10 << 20}, {"10MB", 10 << 20}, {"1.5g", 3 << 29}, {"2G", 2 << 30},
		{"1t", 1 << 40}, {" 64M ", 64 << 20},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "m", "32x", "-1", "1.2.3m", "10ib", "12 mbb", "1e3"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		} else if !strings.Contains(err.Error(), "size") {
			t.Errorf("ParseSize(%q) error %q does not say what it parsed", in, err)
		}
	}
}

func TestParseDeviceRate(t *testing.T) {
	// /dev/null is a character device, never a block device.
	for _, in := range []string{"/dev/null:1mb", "/dev/vda", ":1m", "/dev/vda:", "/dev/vda:1x", "/dev/vda:0"} {
		if _, err := ParseDeviceRate("/", in, true); err == nil {
			t.Errorf("ParseDeviceRate(%q) succeeded, want an error", in)
		}
	}
	if _, err := ParseDeviceRate("/", "/dev/null:100", false); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Errorf("iops on /dev/null: %v, want not a block device", err)
	}
	if _, err := ParseDeviceRate("/", "/dev/null:1.5", false); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("fractional iops: %v", err)
	}
	// A real block device, if the host has one listed in /sys/block.
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		dev := "/dev/" + e.Name()
		b, err := os.ReadFile(filepath.Join("/sys/block", e.Name(), "dev"))
		if err != nil {
			continue
		}
		if _, err := os.Stat(dev); err != nil {
			continue
		}
		d, err := ParseDeviceRate("/", dev+":1mb", true)
		if err != nil {
			t.Fatalf("ParseDeviceRate(%s:1mb): %v", dev, err)
		}
		if d.Device.String() != strings.TrimSpace(string(b)) || d.Rate != 1<<20 {
			t.Errorf("ParseDeviceRate(%s:1mb) = %+v, /sys says %s", dev, d, b)
		}
		break
	}
}

func TestParseNamespaces(t *testing.T) {
	got, err := ParseNamespaces("pid,mount,net,user,time")
	if err != nil {
		t.Fatal(err)
	}
	want := []Namespace{NSPid, NSMount, NSNet, NSUser, NSTime}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if got, err := ParseNamespaces("none"); err != nil || len(got) != 0 {
		t.Errorf("none: %v %v", got, err)
	}
	// An empty list and a namespace named twice (mount is mnt) say
	// nothing clear: refused, with the way to say "none".
	for in, want := range map[string]string{"": "none", "pid,pid": `"pid" given twice`, "mnt,mount": "given twice"} {
		if got, err := ParseNamespaces(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseNamespaces(%q) = %v, %v; want an error with %q", in, got, err, want)
		}
	}
	_, err = ParseNamespaces("pid,bogus")
	if err == nil || !strings.Contains(err.Error(), `"bogus"`) || !strings.Contains(err.Error(), "cgroup,ipc,mnt,net,pid,time,user,uts") {
		t.Errorf("unknown namespace error %v should name it and list the valid ones", err)
	}
}

// Every namespace kind goes from its name to nsinfo's type to its own
// CLONE_NEW* flag (namespaces(7)'s table) and back again.
func TestNamespaceKinds(t *testing.T) {
	want := map[string]uintptr{
		"cgroup": unix.CLONE_NEWCGROUP, "ipc": unix.CLONE_NEWIPC, "net": unix.CLONE_NEWNET, "mnt": unix.CLONE_NEWNS,
		"pid": unix.CLONE_NEWPID, "time": unix.CLONE_NEWTIME, "user": unix.CLONE_NEWUSER, "uts": unix.CLONE_NEWUTS,
	}
	byFlag := map[uintptr]Namespace{}
	for _, n := range AllNamespaces() {
		got, err := ParseNamespaces(string(n))
		if err != nil || len(got) != 1 || got[0] != n {
			t.Errorf("ParseNamespaces(%q) = %v, %v; want [%s]", n, got, err, n)
		}
		f := cloneFlag(n)
		if f == 0 || f != want[string(n)] {
			t.Errorf("%s: CLONE flag %#x, want %#x", n, f, want[string(n)])
		}
		if prev, dup := byFlag[f]; dup {
			t.Errorf("%s and %s share the CLONE flag %#x", prev, n, f)
		}
		byFlag[f] = n
	}
	for name, f := range want {
		if n, ok := byFlag[f]; !ok || string(n) != name {
			t.Errorf("CLONE flag %#x of %s maps back to %q", f, name, n)
		}
	}
	if len(byFlag) != len(nsinfo.Types()) {
		t.Errorf("%d kinds have flags, nsinfo knows %d", len(byFlag), len(nsinfo.Types()))
	}
	if cloneFlag("bogus") != 0 {
		t.Errorf("an unknown kind has a CLONE flag")
	}
}

func TestParseUserBindTmpfs(t *testing.T) {
	// An empty root: no passwd or group entries, so the ids are as typed
	// and a uid alone gets gid 0, as in docker.
	empty := t.TempDir()
	if u, err := ParseUser("1000:100", empty); err != nil || !cmp.Equal(*u, User{UID: 1000, GID: 100}) {
		t.Errorf("ParseUser(1000:100) = %v, %v", u, err)
	}
	if u, err := ParseUser("7", empty); err != nil || !cmp.Equal(*u, User{UID: 7}) {
		t.Errorf("ParseUser(7) = %v, %v", u, err)
	}
	if u, err := ParseUser("4294967294:0", empty); err != nil || !cmp.Equal(*u, User{UID: 4294967294, GID: 0}) {
		t.Errorf("ParseUser(4294967294:0) = %v, %v", u, err)
	}
	// 4294967295 is (uid_t)-1, "unchanged" to setresuid: it would keep
	// root. Negative, overflowing and signed ids are refused too, and
	// names without an entry.
	for _, in := range []string{"alice", "1:x", "-1", "", "4294967295", "0:4294967295", "4294967295:0",
		"1000:-1", "4294967296", "1:4294967296", "+5", " 5", "99999999999999999999", "1:", ":1"} {
		if _, err := ParseUser(in, empty); err == nil {
			t.Errorf("ParseUser(%q) succeeded", in)
		}
	}
	dir := t.TempDir()
	if b, err := ParseBind(dir + ":/data:ro"); err != nil || b != (Bind{dir, "/data", true}) {
		t.Errorf("ParseBind ro = %+v, %v", b, err)
	}
	if b, err := ParseBind(dir + "/:/data/"); err != nil || b != (Bind{dir, "/data", false}) {
		t.Errorf("ParseBind = %+v, %v", b, err)
	}
	for _, in := range []string{dir, dir + ":data", "rel:/data", dir + ":/data:rx", "/no/such/dir:/data", dir + ":/a:ro:x"} {
		if _, err := ParseBind(in); err == nil {
			t.Errorf("ParseBind(%q) succeeded", in)
		}
	}
	// Destinations the sandbox's own root, /proc, /dev and /sys occupy.
	for _, dst := range []string{"/", "/..", "//", "/a/../..", "/proc", "/proc/sys", "/sys", "/sys/fs/cgroup", "/dev", "/proc/../dev/"} {
		if b, err := ParseBind(dir + ":" + dst); err == nil || !strings.Contains(err.Error(), dst) {
			t.Errorf("ParseBind(%s:%s) = %+v, %v; want an error naming it", dir, dst, b, err)
		}
		if tm, err := ParseTmpfs(dst); err == nil || !strings.Contains(err.Error(), "destination") {
			t.Errorf("ParseTmpfs(%s) = %+v, %v; want an error", dst, tm, err)
		}
	}
	for _, dst := range []string{"/dev/shm", "/procfs", "/system", "/devices"} {
		if _, err := ParseTmpfs(dst); err != nil {
			t.Errorf("ParseTmpfs(%s): %v", dst, err)
		}
	}
	if tm, err := ParseTmpfs("/t:size=64m,mode=755"); err != nil || tm != (Tmpfs{Dest: "/t", Size: 64 << 20, Mode: 0o755}) {
		t.Errorf("ParseTmpfs = %+v, %v", tm, err)
	}
	if tm, err := ParseTmpfs("/t:exec,suid,nodev"); err != nil || tm != (Tmpfs{Dest: "/t", Exec: true, Suid: true}) {
		t.Errorf("ParseTmpfs = %+v, %v", tm, err)
	}
	if tm, err := ParseTmpfs("/t"); err != nil || tm != (Tmpfs{Dest: "/t"}) {
		t.Errorf("ParseTmpfs = %+v, %v", tm, err)
	}
	for _, in := range []string{"t", "/t:size=", "/t:size=0", "/t:size=1x", "/t:uid=0", "/t:mode=999"} {
		if _, err := ParseTmpfs(in); err == nil {
			t.Errorf("ParseTmpfs(%q) succeeded", in)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"web", "a", "sb-1f2e", "my_box.2", "A-b"} {
		if err := ValidName(ok); err != nil {
			t.Errorf("ValidName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "..", "a..b", "/x", "-x", ".x", "a b", "é", strings.Repeat("a", 129)} {
		if err := ValidName(bad); err == nil {
			t.Errorf("ValidName(%q) succeeded", bad)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	dir := t.TempDir()
	base := func() Spec {
		s := Spec{Command: []string{"true"}, Namespaces: DefaultNamespaces()}
		if err := s.normalize(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := base(); s.Validate() != nil || s.Network != NetworkNone || s.Hostname != s.Name {
		t.Errorf("defaults: %+v %v", s, s.Validate())
	}
	for _, tc := range []struct {
		mod  func(*Spec)
		want string
	}{
		{func(s *Spec) { s.Command = nil }, "no command"},
		{func(s *Spec) { s.Network = "bridge" }, "--network"},
		{func(s *Spec) { s.Network = NetworkHost }, "--network host"},
		{func(s *Spec) { s.Namespaces = []Namespace{NSPid}; s.Network = NetworkNone }, "--network none"},
		{func(s *Spec) {
			s.Namespaces = []Namespace{NSPid}
			s.Network, s.Hostname, s.Rootfs = NetworkHost, "", dir
		}, "mount namespace"},
		{func(s *Spec) { s.Rootfs = "/no/such" }, "--rootfs"},
		{func(s *Spec) { s.Rootfs = "/etc/hostname" }, "--rootfs"},
		{func(s *Spec) { s.Overlay = true }, "--overlay needs --rootfs"},
		{func(s *Spec) { s.Rootfs = dir; s.KeepUpper = dir }, "--keep-upper"},
		{func(s *Spec) { s.Binds = []Bind{{Source: dir, Dest: "/no/such/target"}} }, "-v"},
		{func(s *Spec) { s.Tmpfs = []Tmpfs{{Dest: "/no/such/target"}} }, "--tmpfs"},
		{func(s *Spec) { s.Workdir = "rel" }, "--workdir"},
		{func(s *Spec) { s.User = &User{UID: 1<<32 - 1} }, "--user"},
		{func(s *Spec) { s.User = &User{GID: 1<<32 - 1} }, "--user"},
		{func(s *Spec) { s.Namespaces = append(s.Namespaces, NSPid) }, "given twice"},
		{func(s *Spec) { s.Binds = []Bind{{Source: dir, Dest: "/"}} }, "-v"},
		{func(s *Spec) { s.Tmpfs = []Tmpfs{{Dest: "/proc/.."}} }, "--tmpfs"},
		{func(s *Spec) {
			s.Namespaces, s.Network, s.Hostname = []Namespace{NSPid}, NetworkHost, ""
			s.Resources.MemoryMax = limit(64 << 20)
		}, "add mnt to --ns"},
		{func(s *Spec) {
			s.Namespaces, s.Network, s.Hostname = nil, NetworkHost, ""
			s.User = &User{}
			s.Resources.MemoryMax = limit(64 << 20)
		}, "--ns none: limits need a mount namespace"},
		{func(s *Spec) { s.Env = []string{"NOEQUALS"} }, "--env"},
		{func(s *Spec) { s.Hostname = "a b" }, "--hostname"},
		{func(s *Spec) { v := uint64(1); s.Resources.CPUShares = &v }, "cpu shares"},
		{func(s *Spec) { s.Resources.CPU = &cgroup.CPUMax{Quota: cgroup.LimitOf(10), Period: 100000} }, "cpu quota"},
		{func(s *Spec) {
			s.Resources.MemoryMax, s.Resources.MemorySwap = limit(64<<20), limit(32<<20)
		}, "memory+swap"},
	} {
		s := base()
		tc.mod(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error naming %q", err, tc.want)
		}
	}
}

func TestEnviron(t *testing.T) {
	s := Spec{Hostname: "box", Env: []string{"PATH=/bin", "A=1"}}
	want := []string{"HOME=/root", "HOSTNAME=box", "PATH=/bin", "A=1"}
	if d := cmp.Diff(want, s.environ()); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	// --user's HOME is its passwd entry's, else "/" as docker's; -e
	// HOME wins.
	for _, c := range []struct {
		u    User
		env  []string
		want string
	}{
		{User{UID: 1000, Home: "/home/alice"}, nil, "HOME=/home/alice"},
		{User{UID: 4242}, nil, "HOME=/"},
		{User{UID: 1000, Home: "/home/alice"}, []string{"HOME=/srv"}, "HOME=/srv"},
	} {
		s := Spec{User: &c.u, Env: c.env}
		if env := s.environ(); !slices.Contains(env, c.want) || slices.Contains(env, "HOME=/root") {
			t.Errorf("user %+v, env %q: environ %q, want %s", c.u, c.env, env, c.want)
		}
	}
}

func TestReportAndSummary(t *testing.T) {
	g := &cgroup.Group{}
	g.Limits.Memory.Max = cgroup.LimitOf(32 << 20)
	g.Stats.Memory.Events.OOMKill = cgroup.Known(1)
	g.Limits.Pids = cgroup.LimitOf(10)
	g.Stats.Pids.MaxEvents = cgroup.Known(4)
	g.Limits.CPU.Quota, g.Limits.CPU.Period = cgroup.LimitOf(20000), cgroup.Known(100000)
	g.Stats.CPU.Periods, g.Stats.CPU.Throttled = cgroup.Known(100), cgroup.Known(80)
	got := Result{Group: g}.Report("x")
	want := []string{
		"sandbox x: the OOM killer ended it at its 32 MiB memory limit (oom_kill 1)",
		"sandbox x: 4 forks failed at its pids limit of 10 (pids.events max 4)",
		"sandbox x: throttled in 80% of its CPU periods at its CPU limit of 0.2 CPUs (0s throttled)",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if r := (Result{Group: &cgroup.Group{}}).Report("x"); len(r) != 0 {
		t.Errorf("a quiet group reports %q", r)
	}
	r := cgroup.Resources{CPU: &cgroup.CPUMax{Quota: cgroup.LimitOf(50000), Period: 100000}, MemoryMax: limit(256 << 20), PidsMax: &cgroup.Max}
	// Through the option table: an unlimited pids limit is a new group's
	// default, not written.
	if got := Summary(r); got != "--cpus 0.5 --memory 256MiB" {
		t.Errorf("Summary = %q", got)
	}
}

// TestPlanExec: the re-executed init's exec tries the command's
// candidates as a launch's child does and maps a failure as a shell would.
func TestPlanExec(t *testing.T) {
	dir := t.TempDir()
	exe, noexec := filepath.Join(dir, "tool"), filepath.Join(dir, "data")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noexec, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/no/such:" + dir}
	if got := candidates("tool", env); !slices.Equal(got, []string{"/no/such/tool", exe}) {
		t.Errorf("candidates of tool: %q", got)
	}
	if got := candidates(exe, env); !slices.Equal(got, []string{exe}) {
		t.Errorf("candidates of %s: %q", exe, got)
	}
	// Only failures: a success would replace the test.
	for _, tc := range []struct {
		name string
		code int
	}{
		{"missing", ExitNotFound}, {dir + "/missing", ExitNotFound}, {noexec, ExitCannotExec}, {dir, ExitCannotExec},
		{"data", ExitCannotExec},
	} {
		p := &plan{argv: []string{tc.name}, env: env, paths: candidates(tc.name, env)}
		err := p.exec()
		var se *StartError
		if !errors.As(err, &se) || se.Code != tc.code {
			t.Errorf("exec %q: %v, want code %d", tc.name, err, tc.code)
		}
	}
}

func TestParseIDMap(t *testing.T) {
	if m, err := ParseIDMap("0:100000:65536"); err != nil || m != (IDMap{0, 100000, 65536}) {
		t.Errorf("ParseIDMap(0:100000:65536) = %+v, %v", m, err)
	}
	if m, err := ParseIDMap("1:4294967293:2"); err != nil || m != (IDMap{1, 4294967293, 2}) {
		t.Errorf("a range ending at 4294967294: %+v, %v", m, err)
	}
	// Ranges reaching (uid_t)-1, empty, negative, overflowing, malformed.
	for _, in := range []string{"0:4294967295:1", "4294967295:0:1", "0:4294967294:2", "4294967290:0:10",
		"0:100000:0", "-1:0:1", "0:-1:1", "0:0:4294967296", "0:0", "0:0:1:1", "a:b:c", "", "0:100000:65536 "} {
		if m, err := ParseIDMap(in); err == nil {
			t.Errorf("ParseIDMap(%q) = %+v, want an error", in, m)
		}
	}
	if err := checkIDMaps([]IDMap{{0, 100000, 1000}, {1000, 200000, 1000}}); err != nil {
		t.Errorf("disjoint ranges: %v", err)
	}
	for _, ms := range [][]IDMap{
		{{0, 100000, 1000}, {999, 200000, 10}},  // inside
		{{0, 100000, 1000}, {5000, 100999, 10}}, // outside
		make([]IDMap, maxIDMaps+1),
	} {
		if err := checkIDMaps(ms); err == nil {
			t.Errorf("checkIDMaps(%v) passed", ms[:2])
		}
	}
}

// TestRemapRange: ctop's subordinate range is found when the file has it,
// and otherwise added above every range there (and above 100000), the
// rest of the file kept; a file with no room is an error, not a wrap.
func TestRemapRange(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		in, out string
		want    IDMap
	}{
		{"", "ctop:100000:65536\n", IDMap{0, 100000, 65536}},
		{"alice:100000:65536\nbob:300000:10", "alice:100000:65536\nbob:300000:10\nctop:300010:65536\n", IDMap{0, 300010, 65536}},
		{"# old\nroot:1000:10\nctop:500000:65536\n", "# old\nroot:1000:10\nctop:500000:65536\n", IDMap{0, 500000, 65536}},
	} {
		p := filepath.Join(dir, "subuid")
		if err := os.WriteFile(p, []byte(tc.in), 0o640); err != nil {
			t.Fatal(err)
		}
		m, err := remapRange(p)
		b, _ := os.ReadFile(p)
		if err != nil || m != tc.want || string(b) != tc.out {
			t.Errorf("remapRange of %q = %+v, %v, file %q; want %+v, %q", tc.in, m, err, b, tc.want, tc.out)
		}
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o640 {
			t.Errorf("file mode after: %v, %v", st.Mode(), err)
		}
		if again, err := remapRange(p); err != nil || again != tc.want {
			t.Errorf("second remapRange = %+v, %v; want the same range", again, err)
		}
	}
	p := filepath.Join(dir, "full")
	if err := os.WriteFile(p, []byte("x:4294900000:60000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := remapRange(p); err == nil {
		t.Errorf("remapRange of a full file = %+v", m)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("temporary files left: %v", ents)
	}
}
