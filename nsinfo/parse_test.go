package nsinfo

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want stat
		err  bool
	}{
		{
			name: "v2 host shell",
			in:   "402 (bash) S 401 400 400 0 -1 4194304 42927 197972 0 8 5 24 131 46 20 0 1 0 2408 7667712 997 18446744073709551615 94768373813248\n",
			want: stat{comm: "bash", ppid: 401, startTime: 2408},
		},
		{
			name: "comm with spaces and parentheses",
			in:   "77 (a) (b c) S 1 77 77 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
			want: stat{comm: "a) (b c", ppid: 1, startTime: 99},
		},
		{
			name: "start time is the last field",
			in:   "5 (x) S 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7\n",
			want: stat{comm: "x", ppid: 2, startTime: 7},
		},
		{name: "no comm", in: "5 x S 2", err: true},
		{name: "too few fields", in: "5 (x) S 2 0 0", err: true},
		{name: "bad ppid", in: "5 (x) S p 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if tt.err {
				if !errors.Is(err, ErrParse) {
					t.Fatalf("parseStat(%q) error = %v, want ErrParse", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(stat{})); diff != "" {
				t.Errorf("parseStat (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want status
		err  bool
	}{
		{
			name: "nested pid namespace, effective ids",
			in:   "Name:\tsh\nUid:\t1000\t1001\t1001\t1001\nGid:\t100\t101\t101\t101\nNStgid:\t424\t1\nNSpid:\t424\t1\nNSpgid:\t400\t0\n",
			want: status{uid: 1001, gid: 101, nspid: []int{424, 1}},
		},
		{
			name: "seccomp filters",
			in:   "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n",
			want: status{seccomp: Seccomp{Mode: SeccompFilter, Filters: 1, Known: true}},
		},
		{
			name: "seccomp disabled, kernel without Seccomp_filters",
			in:   "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nSeccomp:\t0\n",
			want: status{seccomp: Seccomp{Mode: SeccompDisabled, Known: true}},
		},
		{name: "bad Seccomp", in: "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nSeccomp:\t7\n", err: true},
		{
			name: "kernel without NSpid",
			in:   "Name:\tsh\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
			want: status{uid: 0, gid: 0},
		},
		{name: "no Uid", in: "Name:\tsh\nGid:\t0\t0\t0\t0\n", err: true},
		{name: "bad NSpid", in: "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t1 x\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tt.in))
			if tt.err {
				if !errors.Is(err, ErrParse) {
					t.Fatalf("parseStatus error = %v, want ErrParse", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(status{})); diff != "" {
				t.Errorf("parseStatus (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseCgroup(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []CgroupEntry
		err  bool
	}{
		{
			name: "v2",
			in:   "0::/ctopfixture/web\n",
			want: []CgroupEntry{{HierarchyID: 0, Path: "/ctopfixture/web"}},
		},
		{
			name: "hybrid with co-mounted and named hierarchies",
			in:   "9:name=systemd:/\n2:cpu,cpuacct:/a\n0::/\n",
			want: []CgroupEntry{
				{HierarchyID: 9, Controllers: []string{"name=systemd"}, Path: "/"},
				{HierarchyID: 2, Controllers: []string{"cpu", "cpuacct"}, Path: "/a"},
				{HierarchyID: 0, Path: "/"},
			},
		},
		{
			name: "colon in path",
			in:   "0::/a:b\n",
			want: []CgroupEntry{{Path: "/a:b"}},
		},
		{name: "one field", in: "0/\n", err: true},
		{name: "bad id", in: "x::/\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCgroup([]byte(tt.in), nil)
			if tt.err {
				if !errors.Is(err, ErrParse) {
					t.Fatalf("parseCgroup error = %v, want ErrParse", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseCgroup (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseNSLink(t *testing.T) {
	if got, err := parseNSLink([]byte("pid:[4026531836]"), PID); err != nil || got != 4026531836 {
		t.Errorf("parseNSLink = %d, %v; want 4026531836", got, err)
	}
	for _, bad := range []string{"net:[4026531836]", "pid:4026531836", "pid:[]", "pid:[x]", "pid:[0]"} {
		if _, err := parseNSLink([]byte(bad), PID); !errors.Is(err, ErrParse) {
			t.Errorf("parseNSLink(%q) error = %v, want ErrParse", bad, err)
		}
	}
}

func TestParseIDMap(t *testing.T) {
	got, err := parseIDMap([]byte("         0       1000          1\n         1     100000      65536\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []IDMapEntry{{0, 1000, 1}, {1, 100000, 65536}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseIDMap (-want +got):\n%s", diff)
	}
	if _, err := parseIDMap([]byte("0 1\n")); !errors.Is(err, ErrParse) {
		t.Errorf("parseIDMap of two fields: error = %v, want ErrParse", err)
	}
}

func TestParseType(t *testing.T) {
	for _, typ := range Types() {
		if got, err := ParseType(string(typ)); err != nil || got != typ {
			t.Errorf("ParseType(%q) = %q, %v", typ, got, err)
		}
	}
	if _, err := ParseType("mount"); !errors.Is(err, ErrUnknownType) {
		t.Errorf("ParseType(mount) error = %v, want ErrUnknownType", err)
	}
}

func TestCgroupPath(t *testing.T) {
	tests := []struct {
		name    string
		cgroups []CgroupEntry
		want    string
	}{
		{"v2", []CgroupEntry{{Path: "/ctopfixture/web"}}, "/ctopfixture/web"},
		{"hybrid: the v1 group that holds it", []CgroupEntry{
			{HierarchyID: 9, Controllers: []string{"name=systemd"}, Path: "/"},
			{HierarchyID: 4, Controllers: []string{"memory"}, Path: "/process_api/1a7f"},
			{HierarchyID: 0, Path: "/"},
		}, "/process_api/1a7f"},
		{"tie goes to v2", []CgroupEntry{
			{HierarchyID: 1, Controllers: []string{"cpu"}, Path: "/a"},
			{HierarchyID: 0, Path: "/b"},
		}, "/b"},
		{"unread", nil, ""},
	}
	for _, tt := range tests {
		if got := CgroupPath(tt.cgroups); got != tt.want {
			t.Errorf("%s: CgroupPath = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestCgroupPathHybridService: a process whose v1 memory and cpu groups
// are "/" while its service's group is deeper elsewhere is shown in the
// service's group, not the root.
func TestCgroupPathHybridService(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "cgroup", "hybrid-service"))
	if err != nil {
		t.Fatal(err)
	}
	es, err := parseCgroup(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := CgroupPath(es); got != "/system.slice/cron.service" {
		t.Errorf("CgroupPath = %q, want /system.slice/cron.service", got)
	}
}

func TestJSON(t *testing.T) {
	var s NSSet
	s.Set(Net, ID{Dev: 4, Ino: 4026531833})
	p := Process{PID: 7, NS: s, Unavailable: FieldNS | FieldCmdline}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		NS          map[string]*ID
		Unavailable []string
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want := map[string]*ID{"mnt": nil, "net": {Dev: 4, Ino: 4026531833}, "pid": nil, "uts": nil, "ipc": nil, "user": nil, "cgroup": nil, "time": nil}
	if diff := cmp.Diff(want, got.NS); diff != "" {
		t.Errorf("ns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ns", "cmdline"}, got.Unavailable); diff != "" {
		t.Errorf("unavailable (-want +got):\n%s", diff)
	}
}

// TestParseCgroupInterned: processes with the same cgroup file share one
// parsed slice, and another text gets its own.
func TestParseCgroupInterned(t *testing.T) {
	var in intern
	a, err := parseCgroup([]byte("12:pids:/a\n0::/a\n"), &in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := parseCgroup([]byte("12:pids:/a\n0::/a\n"), &in)
	c, _ := parseCgroup([]byte("12:pids:/b\n0::/b\n"), &in)
	if &a[0] != &b[0] {
		t.Error("the same text parsed twice: not shared")
	}
	if c[0].Path != "/b" || c[1].Path != "/b" || a[0].Path != "/a" {
		t.Errorf("another text: got %+v after %+v", c, a)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = parseCgroup([]byte("12:pids:/a\n0::/a\n"), &in) }); n > 1 {
		t.Errorf("a known text: %v allocations, want at most 1", n)
	}
}
