package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctop-dev/ctop/cgroup"
)

func TestParseSubRanges(t *testing.T) {
	file := "root:100000:65536\n" +
		"tester:165536:65536\n" +
		"# a comment is no entry\n" +
		"1000:300000:10\n" +
		"other:400000:65536\n" +
		"tester:4294967290:10\n" + // passes (uid_t)-1: left out
		"tester:500000:0\n" // maps nothing: left out
	got, err := parseSubRanges(strings.NewReader(file), "tester", 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := []IDMap{{Host: 165536, Size: 65536}, {Host: 300000, Size: 10}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ranges of tester (1000) (-want +got):\n%s", d)
	}
	// By id alone, for a uid with no name.
	got, _ = parseSubRanges(strings.NewReader(file), "", 1000)
	if d := cmp.Diff([]IDMap{{Host: 300000, Size: 10}}, got); d != "" {
		t.Errorf("ranges of uid 1000 without a name (-want +got):\n%s", d)
	}
	if got, _ := parseSubRanges(strings.NewReader(file), "nobody", 65534); got != nil {
		t.Errorf("ranges of a user without any = %v", got)
	}
	if got, err := subRanges(filepath.Join(t.TempDir(), "missing"), "tester", 1000); got != nil || err != nil {
		t.Errorf("missing file: %v, %v; want no ranges and no error", got, err)
	}
}

func TestRootlessMaps(t *testing.T) {
	got := rootlessMaps(1000, []IDMap{{Host: 100000, Size: 65536}, {Host: 300000, Size: 10}})
	want := []IDMap{{0, 1000, 1}, {1, 100000, 65536}, {65537, 300000, 10}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rootlessMaps (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]IDMap{{0, 1000, 1}}, rootlessMaps(1000, nil)); d != "" {
		t.Errorf("rootlessMaps without ranges (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		maps []IDMap
		bad  string
	}{
		{[]IDMap{{0, 1000, 1}, {1, 100000, 65536}}, ""},
		{[]IDMap{{0, 100010, 100}}, ""},
		{[]IDMap{{0, 1000, 2}}, "0:1000:2"},
		{[]IDMap{{0, 1000, 1}, {1, 165000, 1000}}, "1:165000:1000"},
		{[]IDMap{{0, 0, 1}}, "0:0:1"},
	} {
		err := allowedMaps(tc.maps, 1000, []IDMap{{Host: 100000, Size: 65536}})
		if (err == nil) != (tc.bad == "") || (err != nil && err.Error() != tc.bad) {
			t.Errorf("allowedMaps(%v) = %v, want %q", tc.maps, err, tc.bad)
		}
	}
}

// TestUserMaps runs the choice of maps of a caller who is not root, as
// whatever user the test runs as, on fixture subordinate id files.
func TestUserMaps(t *testing.T) {
	if !haveMapHelpers() {
		t.Skip("no newuidmap and newgidmap in $PATH (Debian's uidmap package)")
	}
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	dir := t.TempDir()
	sub := filepath.Join(dir, "subuid")
	if err := os.WriteFile(sub, []byte(strconv.FormatUint(uint64(uid), 10)+":100000:65536\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Spec{SubUIDFile: sub, SubGIDFile: sub}
	// The file names the uid; the gid is taken as its own name for the
	// gid file (both are the same file here), so the fixture lists both.
	if uid != gid {
		if err := os.WriteFile(sub, []byte(strconv.FormatUint(uint64(uid), 10)+":100000:65536\n"+strconv.FormatUint(uint64(gid), 10)+":100000:65536\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	uids, gids, helper, err := s.userMaps()
	if err != nil || !helper {
		t.Fatalf("userMaps = %v, %v, helper %v, %v; want the ranges by newuidmap", uids, gids, helper, err)
	}
	if d := cmp.Diff([]IDMap{{0, uid, 1}, {1, 100000, 65536}}, uids); d != "" {
		t.Errorf("uid map (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]IDMap{{0, gid, 1}, {1, 100000, 65536}}, gids); d != "" {
		t.Errorf("gid map (-want +got):\n%s", d)
	}
	// --uidmap inside the range goes through newuidmap too.
	s.UIDMap = []IDMap{{0, uid, 1}, {1, 100000, 1000}}
	s.GIDMap = []IDMap{{0, gid, 1}, {1, 100000, 1000}}
	if _, _, helper, err := s.userMaps(); err != nil || !helper {
		t.Errorf("--uidmap 0:%d:1 --uidmap 1:100000:1000: helper %v, %v; want newuidmap", uid, helper, err)
	}
	// Outside it: one line naming the option, the map and the ranges.
	s.UIDMap = []IDMap{{0, uid, 1}, {1, 200000, 10}}
	_, _, _, err = s.userMaps()
	u := strconv.FormatUint(uint64(uid), 10)
	want := "--uidmap 1:200000:10: uid " + u + " may map only itself and 100000-165535"
	if err == nil || err.Error() != want {
		t.Errorf("--uidmap outside the range: %v; want %q", err, want)
	}
	// Root inside must be the caller: the init's ids.
	s.UIDMap = []IDMap{{0, 100000, 1000}}
	_, _, _, err = s.userMaps()
	want = "--uidmap 0:100000:1000: a sandbox of uid " + u + " maps its root to uid " + u + ", the init's: add --uidmap 0:" + u + ":1 and map other ids from 1"
	if err == nil || err.Error() != want {
		t.Errorf("--uidmap without the caller as root: %v; want %q", err, want)
	}
	// No range at all: only the caller, written without the helpers.
	none := filepath.Join(dir, "none")
	s = &Spec{SubUIDFile: none, SubGIDFile: none}
	uids, gids, helper, err = s.userMaps()
	if err != nil || helper || len(uids) != 1 || len(gids) != 1 {
		t.Errorf("no ranges: %v, %v, helper %v, %v; want only the caller's ids", uids, gids, helper, err)
	}
	s.UIDMap, s.GIDMap = []IDMap{{0, 100000, 10}}, []IDMap{{0, 100000, 10}}
	if _, _, _, err = s.userMaps(); err == nil || !strings.Contains(err.Error(), "has no range in "+none) {
		t.Errorf("--uidmap without ranges: %v", err)
	}
}

func TestCheckDelegated(t *testing.T) {
	cpus := cgroup.CPUMax{Quota: cgroup.LimitOf(50000), Period: 100000}
	mem := cgroup.LimitOf(32 << 20)
	pids := cgroup.LimitOf(20)
	s := &Spec{Resources: cgroup.Resources{MemoryMax: &mem, PidsMax: &pids}}
	if err := CheckDelegated([]string{"memory", "pids"}, s); err != nil {
		t.Errorf("memory and pids with both delegated: %v", err)
	}
	if err := CheckDelegated(nil, &Spec{}); err != nil {
		t.Errorf("no limits, nothing delegated: %v", err)
	}
	s.Resources.CPU = &cpus
	err := CheckDelegated([]string{"memory", "pids"}, s)
	want := `--cpus 0.5: the cpu controller is not delegated to this user (delegated: memory pids): root can add ` + DelegateDropIn +
		` with "[Service]" "Delegate=cpu cpuset io memory pids", run systemctl daemon-reload, and the user log in again`
	if err == nil || err.Error() != want {
		t.Errorf("--cpus without cpu:\n got %v\nwant %s", err, want)
	}
	err = CheckDelegated(nil, s)
	if err == nil || !strings.HasPrefix(err.Error(), "--cpus 0.5, --memory 32MiB, --pids-limit 20: the cpu, memory and pids controllers are not delegated to this user (delegated: none)") {
		t.Errorf("nothing delegated: %v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("the refusal is more than one line: %q", err)
	}
}

func TestDelegatedControllers(t *testing.T) {
	v2 := "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
	f := userTree(t, v2, 2)
	dir, _ := f.Dir("", "/user.slice/user-1000.slice/user@1000.service")
	if err := os.WriteFile(filepath.Join(dir, "cgroup.controllers"), []byte("memory pids\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// ctop's parent is not made yet: its parent's controllers.
	got, err := DelegatedControllers(f, "/user.slice/user-1000.slice/user@1000.service/ctop")
	if d := cmp.Diff([]string{"memory", "pids"}, got); err != nil || d != "" {
		t.Errorf("DelegatedControllers: %v (-want +got):\n%s", err, d)
	}
	if os.Geteuid() != 0 {
		return
	}
	// The test owns user@1000.service and below (see userTree).
	if err := CheckUserParent(f, "/user.slice/user-1000.slice/user@1000.service/app.slice"); err != nil {
		t.Errorf("parent inside the delegated subtree: %v", err)
	}
	err = CheckUserParent(f, "/ctop")
	want := "--cgroup-parent /ctop: outside the subtree delegated to uid 0 (/user.slice/user-1000.slice/user@1000.service): name a group under it"
	if err == nil || err.Error() != want {
		t.Errorf("parent outside: %v; want %q", err, want)
	}
}

func TestCheckRootless(t *testing.T) {
	s := &Spec{Devices: []Device{{Host: "/dev/kmsg", Container: "/dev/kmsg", Access: "r"}}}
	err := checkRootless(s, 1000)
	if err == nil || !strings.HasPrefix(err.Error(), "--device /dev/kmsg: a host device needs root") {
		t.Errorf("--device: %v", err)
	}
	if err := checkRootless(&Spec{}, 1000); err != nil {
		t.Errorf("plain spec: %v", err)
	}
	mem := cgroup.LimitOf(32 << 20)
	s = &Spec{Namespaces: []Namespace{NSPid, NSMount, NSUser}, Resources: cgroup.Resources{MemoryMax: &mem}}
	err = checkRootless(s, 1000)
	if err == nil || err.Error() != "--ns pid,mnt,user: limits of a sandbox of uid 1000 need a cgroup namespace (its root owns its cgroup's files): add cgroup to --ns, or give a --user who is not root" {
		t.Errorf("limits without a cgroup namespace: %v", err)
	}
	s.User = &User{UID: 1000}
	if err := checkRootless(s, 1000); err != nil {
		t.Errorf("limits without a cgroup namespace, --user 1000: %v", err)
	}
	s.User, s.Namespaces = nil, append(s.Namespaces, NSCgroup)
	if err := checkRootless(s, 1000); err != nil {
		t.Errorf("limits with a cgroup namespace: %v", err)
	}
}
