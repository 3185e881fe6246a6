package sandbox

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctop-dev/ctop/cgroup"
)

// formatGiven turns Format's text back into what a command line gives.
func formatGiven(l cgroup.Limits) Given {
	g := Given{}
	for _, o := range Options() {
		if o.Format != nil {
			// Only options with a value are given: an empty entry would
			// count as given.
			if v := o.Format(l); len(v) > 0 {
				g[o.Name] = append(g[o.Name], v...)
			}
		}
	}
	return g
}

// roundTrip parses g, writes it to a new group (LimitsOf), formats the
// limits back and checks that they parse to the same limits.
func roundTrip(t *testing.T, g Given) {
	t.Helper()
	r, err := ParseUpdate(g)
	if err != nil {
		t.Errorf("ParseUpdate(%v): %v", g, err)
		return
	}
	l := LimitsOf(r)
	back := formatGiven(l)
	r2, err := ParseUpdate(back)
	if err != nil {
		t.Errorf("%v formats as %v, which does not parse: %v", g, back, err)
		return
	}
	if diff := cmp.Diff(l, LimitsOf(r2)); diff != "" {
		t.Errorf("%v → %v: limits differ (-want +got):\n%s", g, back, diff)
	}
}

// Every limit: good values parse and survive parse → write → format →
// parse; bad ones are refused naming the option and the value.
func TestLimitOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		good []string
		bad  []string
		with Given // what the option needs beside it
	}{
		{name: "cpus", good: []string{"0.5", "1", ".25", "0", "0.123456"}, bad: []string{"", "x", "-0.5", "0.001", "100000", "NaN", "Inf"}},
		{name: "memory", good: []string{"6m", "64m", "1.5g", "100000000", "1GiB"}, bad: []string{"1m", "32x", "", "-1"}},
		{name: "pids-limit", good: []string{"10", "-1", "0", "1"}, bad: []string{"-5", "ten", "1.5"}},
		{name: "cpu-period", good: []string{"1000", "50000", "100000", "1000000"}, bad: []string{"999", "1000001", "0", "x"}},
		{name: "cpu-quota", good: []string{"1000", "25000", "-1", "400000"}, bad: []string{"999", "0", "-2", "x"}},
		{name: "cpu-shares", good: []string{"2", "512", "262144"}, bad: []string{"1", "262145", "x"}},
		{name: "cpuset-cpus", good: []string{"0", "0-1,3"}, bad: []string{"1-0", "", "a"}},
		{name: "cpuset-mems", good: []string{"0"}, bad: []string{"x"}},
		{name: "memory-reservation", good: []string{"32m", "0"}, bad: []string{"32x", "128m"}, with: Given{"memory": {"64m"}}},
		{name: "memory-swap", good: []string{"64m", "128m", "-1"}, bad: []string{"32m", "x"}, with: Given{"memory": {"64m"}}},
		{name: "device-read-bps", good: []string{"8:0:1mb", "8:16:1000"}, bad: []string{"/dev/null:1mb", "/dev/vda", "8:0:0", "/no/such:10"}},
		{name: "device-write-bps", good: []string{"8:0:1mb"}, bad: []string{"8:0:x"}},
		{name: "device-read-iops", good: []string{"8:0:100"}, bad: []string{"8:0:1mb"}},
		{name: "device-write-iops", good: []string{"8:0:100"}, bad: []string{"8:0:-1"}},
	} {
		if Lookup(tc.name) == nil {
			t.Fatalf("no option %s", tc.name)
		}
		given := func(v string) Given {
			g := Given{tc.name: {v}}
			for k, vs := range tc.with {
				g[k] = vs
			}
			return g
		}
		for _, v := range tc.good {
			roundTrip(t, given(v))
		}
		for _, v := range tc.bad {
			_, err := ParseUpdate(given(v))
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Name != tc.name || !strings.HasPrefix(err.Error(), "--"+tc.name+" ") || !strings.Contains(err.Error(), v) {
				t.Errorf("--%s %q: %v; want an error naming the option and the value", tc.name, v, err)
			}
		}
	}
}

// Every row is complete, and the limits are round-tripped above.
func TestOptionTable(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range Options() {
		if seen[o.Name] || (o.Short != "" && seen[o.Short]) {
			t.Errorf("%s: name or shorthand used twice", o.Name)
		}
		seen[o.Name], seen[o.Short] = true, o.Short != ""
		if o.Help == "" {
			t.Errorf("%s: no help", o.Name)
		}
		switch {
		case (o.Limit == nil) == (o.Set == nil):
			t.Errorf("%s: want exactly one of Limit and Set", o.Name)
		case o.Limit != nil && (o.Commands != CmdBoth || o.Format == nil || o.Value == nil || len(o.Files.V1) == 0 || len(o.Files.V2) == 0 || o.Files.Controller == ""):
			t.Errorf("%s: a limit wants both commands, Format, Value and its files", o.Name)
		case o.Set != nil && o.Commands != CmdRun:
			t.Errorf("%s: an option of the spec is run's alone", o.Name)
		}
	}
}

func TestParseCPUs(t *testing.T) {
	for in, want := range map[string]cgroup.Limit{"0.5": cgroup.LimitOf(50000), "2": cgroup.LimitOf(200000), ".25": cgroup.LimitOf(25000), "0": cgroup.Max} {
		got, err := parseCPUs(in, 2)
		if err != nil || got != want {
			t.Errorf("parseCPUs(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-0.5", "0.001", "3", "NaN", "Inf"} {
		if _, err := parseCPUs(in, 2); err == nil {
			t.Errorf("parseCPUs(%q) succeeded", in)
		}
	}
}

// The rules between options, applied once for run and update.
func TestOptionRules(t *testing.T) {
	for _, tc := range []struct {
		g    Given
		want string // "" for no error
	}{
		{Given{"cpus": {"0.5"}, "cpu-period": {"50000"}}, "--cpus 0.5: conflicting options: --cpus and --cpu-period cannot both be set"},
		{Given{"cpus": {"0.5"}, "cpu-quota": {"25000"}}, "--cpus 0.5: conflicting options: --cpus and --cpu-quota"},
		{Given{"cpu-period": {"50000"}, "cpu-quota": {"25000"}}, ""},
		{Given{"memory-swap": {"64m"}}, "--memory-swap 64m: give --memory with it"},
		{Given{"memory": {"64m"}, "memory-swap": {"32m"}}, "--memory-swap 32m: must be at least --memory 64m"},
		{Given{"memory": {"64m"}, "memory-reservation": {"128m"}}, "--memory-reservation 128m: must not exceed --memory 64m"},
		{Given{"name": {"x"}}, "--name x: no such option"},
	} {
		_, err := ParseUpdate(tc.g)
		if (tc.want == "") != (err == nil) || err != nil && !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("update %v: %v, want %q", tc.g, err, tc.want)
		}
	}
	r, err := ParseUpdate(Given{"cpu-period": {"50000"}, "cpu-quota": {"25000"}})
	if err != nil || *r.CPU != (cgroup.CPUMax{Quota: cgroup.LimitOf(25000), Period: 50000}) {
		t.Errorf("--cpu-period 50000 --cpu-quota 25000: %+v, %v", r.CPU, err)
	}
	// A period alone keeps the quota (the zero Limit).
	if r, _ := ParseUpdate(Given{"cpu-period": {"50000"}}); r.CPU.Quota.OK {
		t.Errorf("--cpu-period alone sets the quota %v", r.CPU.Quota)
	}

	run, err := ParseRun(Given{"network": {"host"}})
	if err != nil || run.Spec.Has(NSNet) || !run.Spec.Has(NSPid) {
		t.Errorf("--network host: namespaces %v, %v; want the defaults less net", run.Spec.Namespaces, err)
	}
	if run, _ := ParseRun(Given{"network": {"host"}, "ns": {"pid,net"}}); !run.Spec.Has(NSNet) {
		t.Errorf("--network host --ns pid,net dropped net: %v", run.Spec.Namespaces)
	}
	if _, err := ParseRun(Given{"hostname": {"h"}, "ns": {"pid"}}); err == nil || !strings.HasPrefix(err.Error(), "--hostname h: needs a uts namespace") {
		t.Errorf("--hostname without uts: %v", err)
	}
	if run, _ := ParseRun(Given{"keep-upper": {"/x"}}); !run.Spec.Overlay {
		t.Error("--keep-upper does not imply --overlay")
	}
	// Every bad value is reported, for a form to mark each field.
	_, err = ParseRun(Given{"name": {"a/b"}, "ns": {"bogus"}, "memory": {"1m"}})
	var errs OptionErrors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Errorf("three bad values: %v", err)
	}
}

// The run options fill the spec as ctop run did with its own flags.
func TestRunOptions(t *testing.T) {
	// --user resolves in --rootfs's files, here none: a uid alone gets
	// gid 0.
	root := t.TempDir()
	run, err := ParseRun(Given{"name": {"web"}, "env": {"A=1", "B=2"}, "user": {"1000"}, "rootfs": {root}, "workdir": {"/srv"}, "tmpfs": {"/tmp:size=1m"},
		"detach": {"true"}, "interactive": {"true"}, "tty": {"true"}, "stats": {"true"}, "memory": {"64m"}, "hostname": {"box"}})
	if err != nil {
		t.Fatal(err)
	}
	mem := cgroup.LimitOf(64 << 20)
	want := Run{Interactive: true, Spec: Spec{Name: "web", Env: []string{"A=1", "B=2"}, User: &User{UID: 1000}, Rootfs: root, Workdir: "/srv",
		Tmpfs: []Tmpfs{{Dest: "/tmp", Size: 1 << 20}}, Detach: true, TTY: true, Stats: true, Hostname: "box",
		Namespaces: DefaultNamespaces(), Resources: cgroup.Resources{MemoryMax: &mem}}}
	if diff := cmp.Diff(want, run, cmp.AllowUnexported(Spec{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, g := range []Given{{"volume": {"/no/such:/x"}}, {"tmpfs": {"rel"}}, {"user": {"alice"}}, {"network": {"bridge"}}, {"detach": {"maybe"}}} {
		for name, v := range g {
			if _, err := ParseRun(g); err == nil || !strings.HasPrefix(err.Error(), "--"+name+" "+v[0]) {
				t.Errorf("--%s %s: %v", name, v[0], err)
			}
		}
	}
}

// Format, Values and Blame read the live limits through the table.
func TestFormatLimits(t *testing.T) {
	r, err := ParseUpdate(Given{"cpu-period": {"50000"}, "cpu-quota": {"25000"}, "memory": {"64m"}, "memory-swap": {"128m"}, "device-write-bps": {"8:0:1mb"}})
	if err != nil {
		t.Fatal(err)
	}
	l := LimitsOf(r)
	if got, want := Format(l), "--memory 64MiB --cpu-period 50000 --cpu-quota 25000 --memory-swap 128MiB --device-write-bps 8:0:1MiB"; got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got := Summary(cgroup.Resources{CPU: &cgroup.CPUMax{Quota: cgroup.LimitOf(50000), Period: 100000}}); got != "--cpus 0.5" {
		t.Errorf("Summary = %q", got)
	}
	v := Values(l)
	if v["cpus"] != 0.5 || v["memory"] != cgroup.LimitOf(64<<20) || v["pids_limit"] != cgroup.Max || v["memory_swap"] != uint64(128<<20) || v["cpu_shares"] != nil {
		t.Errorf("Values = %v", v)
	}
	// v1 makes every group carry the root's cpuset: no limit.
	l.CPU.Cpus, l.CPU.Mems = "0-1", "0"
	if own := OwnLimits(l, cgroup.Limits{CPU: cgroup.CPULimits{EffectiveCpus: "0-1", EffectiveMems: "0"}}); own.CPU.Cpus != "" || own.CPU.Mems != "" {
		t.Errorf("OwnLimits kept the host-wide cpuset %q %q", own.CPU.Cpus, own.CPU.Mems)
	}
	// v2 shows cpu.weight: converted back to shares that give the same weight.
	if s, ok := shares(cgroup.CPULimits{Weight: cgroup.Known(39)}); !ok || 1+((s-2)*9999)/262142 != 39 {
		t.Errorf("weight 39 reads as shares %d", s)
	}

	refused := &cgroup.WriteError{File: "cpu.cfs_period_us", Path: "/x/cpu.cfs_period_us", Value: "50000", Err: errors.New("invalid argument")}
	if err := (Given{"cpu-period": {"50000"}}).Blame(refused); !strings.HasPrefix(err.Error(), "--cpu-period 50000: write") {
		t.Errorf("Blame = %v", err)
	}
	if err := Given(nil).Blame(&cgroup.WriteError{File: "io.max", Err: errors.New("x")}); !strings.HasPrefix(err.Error(), "--device-read-bps: ") {
		t.Errorf("Blame without values = %v", err)
	}
	if plain := errors.New("other"); Given(nil).Blame(plain) != plain {
		t.Error("Blame changed an error that is no kernel refusal")
	}
}

// FuzzOptionParse: no value makes a parse panic, and a value of a limit
// that parses formats back to text that parses to the same limits.
func FuzzOptionParse(f *testing.F) {
	for i, o := range Options() {
		for _, v := range []string{o.Example, o.Default, "0", "-1", "max", "1.5g", "8:0:1mb", ""} {
			f.Add(i, v)
		}
	}
	opts := Options()
	f.Fuzz(func(t *testing.T, i int, v string) {
		if i < 0 || i >= len(opts) {
			return
		}
		o := opts[i]
		g := Given{o.Name: {v}}
		if o.Set != nil {
			_, _ = ParseRun(g)
			return
		}
		if o.Name == "memory-swap" || o.Name == "memory-reservation" {
			g["memory"] = []string{"1t"}
		}
		if _, err := ParseUpdate(g); err == nil {
			roundTrip(t, g)
		}
	})
}

func TestEnvFileAndCopy(t *testing.T) {
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"HOME_X": "/home/x", "EMPTY": ""}[k]
		return v, ok
	}
	in := "# comment\n\nA=1\n  B=two words = more\nHOME_X\nABSENT\nEMPTY\nC=\n"
	got, err := ParseEnvFile(strings.NewReader(in), lookup)
	want := []string{"A=1", "B=two words = more", "HOME_X=/home/x", "EMPTY=", "C="}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseEnvFile = %q, %v; want %q", got, err, want)
	}
	if _, err := ParseEnvFile(strings.NewReader("A=1\nBAD KEY=2\n"), lookup); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("ParseEnvFile of a key with a space: %v, want an error naming line 2", err)
	}
	if got := envEntry("HOME_X", lookup); !slices.Equal(got, []string{"HOME_X=/home/x"}) {
		t.Errorf("-e HOME_X: %q", got)
	}
	if got := envEntry("ABSENT", lookup); got != nil {
		t.Errorf("-e ABSENT: %q, want nothing (unset, as docker)", got)
	}
}
