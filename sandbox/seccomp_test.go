package sandbox

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Return values of a seccomp filter (seccomp(2)).
const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

const auditArchX86_64 = 0xc000003e

// evalFilter runs a compiled filter on a system call as the kernel would,
// on golang.org/x/net/bpf's VM: it builds struct seccomp_data (nr, arch,
// instruction pointer, six 64-bit arguments) as the filter reads it, word
// by word (the VM loads words big-endian; the filter takes an argument's
// halves where this machine's byte order puts them).
func evalFilter(t *testing.T, f *filter, arch uint32, nr int, args ...uint64) uint32 {
	t.Helper()
	var data [64]byte
	put := func(off int, v uint32) { binary.BigEndian.PutUint32(data[off:], v) }
	put(0, uint32(nr))
	put(4, arch)
	for i, a := range args {
		lo, hi := 16+8*i, 16+8*i+4
		if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 { // big-endian machine
			lo, hi = hi, lo
		}
		put(lo, uint32(a))
		put(hi, uint32(a>>32))
	}
	insts := make([]bpf.Instruction, len(f.prog))
	for i, r := range f.prog {
		insts[i] = bpf.RawInstruction{Op: r.Code, Jt: r.Jt, Jf: r.Jf, K: r.K}.Disassemble()
	}
	vm, err := bpf.NewVM(insts)
	if err != nil {
		t.Fatalf("filter does not load: %v", err)
	}
	ret, err := vm.Run(data[:])
	if err != nil {
		t.Fatal(err)
	}
	return uint32(ret)
}

func amd64Env(caps uint64, kernel, major uint64) seccompEnv {
	return seccompEnv{goarch: "amd64", caps: caps, kernel: seccomp.KernelVersion{Kernel: kernel, Major: major}}
}

// Syscall numbers of amd64 (arch/x86/entry/syscalls/syscall_64.tbl), so
// that the test reads the same on every machine.
const (
	amd64Read, amd64Socket, amd64Clone, amd64Mkdir, amd64Ptrace = 0, 41, 56, 83, 101
	amd64Personality, amd64ArchPrctl, amd64Keyctl, amd64Unshare = 135, 158, 250, 272
	amd64OpenByHandleAt, amd64Clone3, amd64Getpid               = 304, 435, 39
)

func TestSeccompDefaultProfile(t *testing.T) {
	f, err := (&SeccompProfile{}).compile(amd64Env(DefaultCapMask(), 6, 1))
	if err != nil {
		t.Fatal(err)
	}
	if f == nil || len(f.prog) > maxFilterLen {
		t.Fatalf("filter %v", f)
	}
	last := f.prog[len(f.prog)-1]
	if last.Code != unix.BPF_RET|unix.BPF_K || last.K != retEPERM {
		t.Errorf("last instruction %+v: want the default return, ERRNO(EPERM)", last)
	}
	a := uint64(auditArchX86_64)
	for _, c := range []struct {
		what string
		nr   int
		args []uint64
		want uint32
	}{
		{"read", amd64Read, nil, retAllow},
		{"arch_prctl (includes arches amd64)", amd64ArchPrctl, nil, retAllow},
		{"keyctl (not listed: the default)", amd64Keyctl, nil, retEPERM},
		{"unshare (needs CAP_SYS_ADMIN)", amd64Unshare, []uint64{unix.CLONE_NEWUSER}, retEPERM},
		{"open_by_handle_at (needs CAP_DAC_READ_SEARCH)", amd64OpenByHandleAt, nil, retEPERM},
		{"clone3 (errnoRet ENOSYS)", amd64Clone3, nil, retENOSYS},
		{"clone of a thread", amd64Clone, []uint64{unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND}, retAllow},
		{"clone of a user namespace (masked flags)", amd64Clone, []uint64{unix.CLONE_NEWUSER | uint64(unix.SIGCHLD)}, retEPERM},
		{"socket AF_INET", amd64Socket, []uint64{unix.AF_INET}, retAllow},
		{"socket AF_VSOCK", amd64Socket, []uint64{unix.AF_VSOCK}, retEPERM},
		{"personality 0xffffffff", amd64Personality, []uint64{0xffffffff}, retAllow},
		{"personality 1", amd64Personality, []uint64{1}, retEPERM},
		{"ptrace (minKernel 4.8)", amd64Ptrace, nil, retAllow},
		{"x32 ABI", amd64Read | 0x40000000, nil, retENOSYS},
	} {
		if got := evalFilter(t, f, uint32(a), c.nr, c.args...); got != c.want {
			t.Errorf("%s: filter returns %#x, want %#x", c.what, got, c.want)
		}
	}
	// Another ABI (i386) gets the default action.
	if got := evalFilter(t, f, 0x40000003, 3); got != retEPERM {
		t.Errorf("i386 read: %#x, want the default %#x", got, retEPERM)
	}
}

func TestSeccompConditions(t *testing.T) {
	admin := DefaultCapMask() | 1<<unix.CAP_SYS_ADMIN | 1<<unix.CAP_DAC_READ_SEARCH
	f, err := (*SeccompProfile)(nil).compile(amd64Env(admin, 6, 1))
	if err != nil {
		t.Fatal(err)
	}
	// includes caps: allowed with the capability; excludes caps: clone3's
	// ENOSYS rule is left out with CAP_SYS_ADMIN, which allows it.
	for _, c := range []struct {
		what string
		nr   int
	}{{"unshare", amd64Unshare}, {"open_by_handle_at", amd64OpenByHandleAt}, {"clone3", amd64Clone3}} {
		if got := evalFilter(t, f, auditArchX86_64, c.nr); got != retAllow {
			t.Errorf("%s with CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH: %#x, want allowed", c.what, got)
		}
	}
	// minKernel: ptrace is allowed from 4.8 on.
	old, err := (*SeccompProfile)(nil).compile(amd64Env(DefaultCapMask(), 4, 4))
	if err != nil {
		t.Fatal(err)
	}
	if got := evalFilter(t, old, auditArchX86_64, amd64Ptrace); got != retEPERM {
		t.Errorf("ptrace on 4.4: %#x, want EPERM", got)
	}
	// Arches: a rule for arm64 only is left out on amd64.
	for _, c := range []struct {
		arches string
		want   uint32
	}{{`["arm64"]`, retAllow}, {`["amd64", "x32"]`, retEPERM}} {
		p := profileOf(t, `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
			{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "includes": {"arches": `+c.arches+`}}]}`)
		f, err := p.compile(amd64Env(0, 6, 1))
		if err != nil {
			t.Fatal(err)
		}
		if got := evalFilter(t, f, auditArchX86_64, amd64Getpid); got != c.want {
			t.Errorf("getpid with a rule for %s: %#x, want %#x", c.arches, got, c.want)
		}
	}
}

// profileOf writes a profile to a file and loads it.
func profileOf(t *testing.T, js string) *SeccompProfile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "profile.json")
	if err := os.WriteFile(path, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadSeccompProfile(path)
	if err != nil {
		t.Fatalf("load %s: %v", js, err)
	}
	return p
}

func TestSeccompCustomProfile(t *testing.T) {
	// An unknown name is skipped, as docker does; errnoRet and
	// defaultErrnoRet are kept.
	p := profileOf(t, `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": [
		{"names": ["read", "ctop_no_such_call"], "action": "SCMP_ACT_ALLOW"},
		{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}`)
	f, err := p.compile(amd64Env(DefaultCapMask(), 6, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		nr   int
		want uint32
	}{{amd64Read, retAllow}, {amd64Mkdir, unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)}, {amd64Getpid, retENOSYS}} {
		if got := evalFilter(t, f, auditArchX86_64, c.nr); got != c.want {
			t.Errorf("syscall %d: %#x, want %#x", c.nr, got, c.want)
		}
	}
	// Conditions on one argument are alternatives, on several all must
	// hold (runc's reading).
	p = profileOf(t, `{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
		{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
			{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
		{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
			{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 4, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 4}]}]}`)
	if f, err = p.compile(amd64Env(0, 6, 1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		nr   int
		args []uint64
		want uint32
	}{
		{amd64Socket, []uint64{1}, retAllow}, {amd64Socket, []uint64{2}, retAllow}, {amd64Socket, []uint64{3}, retEPERM},
		{amd64Personality, []uint64{1, 4 | 1}, retAllow}, {amd64Personality, []uint64{1, 1}, retEPERM},
		{amd64Personality, []uint64{2, 4}, retEPERM},
	} {
		if got := evalFilter(t, f, auditArchX86_64, c.nr, c.args...); got != c.want {
			t.Errorf("syscall %d %v: %#x, want %#x", c.nr, c.args, got, c.want)
		}
	}
	// Unconfined and an empty profile install nothing.
	for _, p := range []*SeccompProfile{{Unconfined: true}, profileOf(t, `{}`)} {
		if f, err := p.compile(amd64Env(0, 6, 1)); f != nil || err != nil {
			t.Errorf("%s: filter %v, %v; want none", p, f, err)
		}
	}
}

func TestSeccompRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ js, want string }{
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"`, "parse: unexpected end of JSON input"},
		{`{"defaultAction": "SCMP_ACT_NOPE"}`, `defaultAction: unknown action "SCMP_ACT_NOPE"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}`, "no listener"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
			"args": [{"index": 0, "value": 6, "op": "SCMP_CMP_ALMOST"}]}]}`, `rule for mkdir: unknown operator "SCMP_CMP_ALMOST"`},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
			"includes": {"minKernel": "four"}}]}`, "invalid kernel version"},
	} {
		path := filepath.Join(dir, "p.json")
		if err := os.WriteFile(path, []byte(c.js), 0o644); err != nil {
			t.Fatal(err)
		}
		// Through the option table, which names the option and value.
		r, err := ParseRun(Given{"security-opt": {"seccomp=" + path}})
		s := r.Spec
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") ||
			!strings.HasPrefix(err.Error(), "--security-opt seccomp="+path+": ") {
			t.Errorf("%s: error %v; want one line with %q", c.js, err, c.want)
		}
		if s.Seccomp != nil {
			t.Errorf("%s: spec changed on error", c.js)
		}
	}
}

func TestParseSecurityOpt(t *testing.T) {
	var s Spec
	for _, c := range []struct {
		opt        string
		unconfined bool
		newPrivs   bool
	}{
		{"seccomp=unconfined", true, false},
		{"no-new-privileges=false", true, true},
		{"no-new-privileges", true, false},
		{"no-new-privileges=true", true, false},
	} {
		if err := ParseSecurityOpt(c.opt, &s); err != nil {
			t.Fatalf("%s: %v", c.opt, err)
		}
		if s.Seccomp == nil || s.Seccomp.Unconfined != c.unconfined || s.NewPrivileges != c.newPrivs {
			t.Errorf("%s: seccomp %v new privileges %v", c.opt, s.Seccomp, s.NewPrivileges)
		}
	}
	for _, bad := range []string{"seccomp", "seccomp=", "no-new-privileges=maybe", "apparmor=unconfined", "seccomp=/ctop/no/such.json"} {
		_, err := ParseRun(Given{"security-opt": {bad}})
		if err == nil || !strings.HasPrefix(err.Error(), "--security-opt ") || !strings.Contains(err.Error(), strings.TrimPrefix(bad, "seccomp=")) {
			t.Errorf("%s: %v; want an error naming the option and value", bad, err)
		}
	}
}

// TestSeccompPlan: the filter is the plan's last step, after no_new_privs;
// without no_new_privs it comes before the capabilities are dropped.
func TestSeccompPlan(t *testing.T) {
	f := &filter{prog: []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: retAllow}}}
	s := Spec{Command: []string{"true"}, Namespaces: []Namespace{NSPid}}
	names := opNames(planLaunch(&s, "", nil, [3]int{3, 4, 5}, f))
	if !inOrder(names, []string{"set no_new_privs", "set parent-death signal", "install the seccomp filter"}) ||
		names[len(names)-1] != "install the seccomp filter" {
		t.Errorf("steps %q: want the seccomp filter last, after no_new_privs", names)
	}
	s.NewPrivileges = true
	names = opNames(planLaunch(&s, "", nil, [3]int{3, 4, 5}, f))
	i, j := slices.Index(names, "install the seccomp filter"), slices.IndexFunc(names, func(n string) bool {
		return strings.HasPrefix(n, "drop capability")
	})
	if i < 0 || j < 0 || i > j || slices.Contains(names, "set no_new_privs") {
		t.Errorf("steps %q: want the filter before the capabilities are dropped, no no_new_privs", names)
	}
	s.NewPrivileges = false
	if names = opNames(planLaunch(&s, "", nil, [3]int{3, 4, 5}, nil)); slices.Contains(names, "install the seccomp filter") {
		t.Errorf("no filter, yet a step installs one: %q", names)
	}
	// The program travels to the re-executed init unchanged.
	g, err := (*SeccompProfile)(nil).compile(hostSeccompEnv(DefaultCapMask()))
	if err != nil {
		t.Fatal(err)
	}
	if back := filterOf(g.bytes(), g.flags); !slices.Equal(back.prog, g.prog) {
		t.Error("the program changed on its way to the init")
	}
}

// seccompCall is a system call an attack makes.
type seccompCall struct {
	name string
	nr   uintptr
	args [6]uintptr
}

// seccompAttacks are system calls docker's profile refuses (EPERM) and
// two it lets through. The arguments are chosen so that the kernel, left
// to itself, would not answer EPERM where it can (a bad address, a bad
// fd), so that EPERM is the filter's.
func seccompAttacks() []seccompCall {
	bad := ^uintptr(0) // an address no process has
	return []seccompCall{
		{name: "unshare-user", nr: unix.SYS_UNSHARE, args: [6]uintptr{unix.CLONE_NEWUSER | unix.CLONE_NEWNS}},
		{name: "add_key", nr: unix.SYS_ADD_KEY, args: [6]uintptr{bad, bad, 0, 0, 0}},
		{name: "keyctl", nr: unix.SYS_KEYCTL, args: [6]uintptr{1 << 20}},
		{name: "mount", nr: unix.SYS_MOUNT, args: [6]uintptr{bad, bad, bad, 0, 0}},
		{name: "kexec_load", nr: unix.SYS_KEXEC_LOAD, args: [6]uintptr{0, 0, 0, 0}},
		{name: "open_by_handle_at", nr: unix.SYS_OPEN_BY_HANDLE_AT, args: [6]uintptr{bad, bad, 0}},
		{name: "bpf", nr: unix.SYS_BPF, args: [6]uintptr{1 << 20, bad, 8}},
		{name: "perf_event_open", nr: unix.SYS_PERF_EVENT_OPEN, args: [6]uintptr{bad, 0, ^uintptr(0), ^uintptr(0), 0}},
		// Allowed by the profile (ptrace from kernel 4.8): ESRCH, no
		// such process, is the kernel's answer.
		{name: "ptrace", nr: unix.SYS_PTRACE, args: [6]uintptr{unix.PTRACE_ATTACH, 1 << 30}},
		{name: "getpid", nr: unix.SYS_GETPID},
	}
}

// seccompStatus is what /proc/self/status says of seccomp for a process
// that adds n filters to this one's (filters are inherited).
func seccompStatus(t *testing.T, n int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	mode, filters, hasFilters := "0", 0, false
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Seccomp:\t"); ok {
			mode = v
		}
		if v, ok := strings.CutPrefix(l, "Seccomp_filters:\t"); ok {
			hasFilters = true
			fmt.Sscan(v, &filters)
		}
	}
	if n > 0 {
		mode = "2"
	}
	out := "Seccomp:\t" + mode
	if hasFilters {
		out += fmt.Sprintf("\nSeccomp_filters:\t%d", filters+n)
	}
	return out
}

// TestSeccompBothPaths: inside a sandbox, by a launch and by the
// re-executed init, the filter is installed and stops what docker's
// profile stops, with EPERM; unconfined installs none; a custom profile
// applies.
func TestSeccompBothPaths(t *testing.T) {
	e := newTestEnv(t)
	if !haveClone3() || !directLaunchArch {
		t.Skip("no launch here: every sandbox takes the re-executed init")
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("the attacks' arguments are written for amd64 and arm64")
	}
	noMkdir := filepath.Join(t.TempDir(), "no-mkdir.json")
	if err := os.WriteFile(noMkdir, []byte(`{"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	want := func(pairs ...string) string {
		var b strings.Builder
		for i := 0; i < len(pairs); i += 2 {
			fmt.Fprintf(&b, "%s %s\n", pairs[i], pairs[i+1])
		}
		return b.String()
	}
	eperm, esrch := fmt.Sprint(int(unix.EPERM)), fmt.Sprint(int(unix.ESRCH))
	type row struct {
		name string
		opt  string
		spec func() Spec
		want string
	}
	rows := []row{
		{"status", "", func() Spec { return e.spec("grep", "^Seccomp", "/proc/self/status") }, seccompStatus(t, 1) + "\n"},
		{"status unconfined", "seccomp=unconfined", func() Spec { return e.spec("grep", "^Seccomp", "/proc/self/status") },
			seccompStatus(t, 0) + "\n"},
		{"ordinary shell", "", func() Spec { return e.spec("sh", "-c", "echo hi; ls / >/dev/null && echo listed") }, "hi\nlisted\n"},
		{"unshare -U", "", func() Spec {
			return e.spec("sh", "-c", "unshare -U true 2>/dev/null && echo made || echo refused")
		}, "refused\n"},
		{"attacks", "", func() Spec { return e.helper("syscalls") }, want(
			"unshare-user", eperm, "add_key", eperm, "keyctl", eperm, "mount", eperm, "kexec_load", eperm,
			"open_by_handle_at", eperm, "bpf", eperm, "perf_event_open", eperm, "ptrace", esrch, "getpid", "0")},
		{"custom profile", "seccomp=" + noMkdir, func() Spec {
			// In a directory of the test's: the sandbox shares the host's
			// files.
			return e.spec("sh", "-c", "mkdir "+scratch+"/x 2>&1 | grep -o 'Operation not permitted'")
		}, "Operation not permitted\n"},
	}
	for _, r := range rows {
		for _, viaInit := range []bool{false, true} {
			s := r.spec()
			s.viaInit = viaInit
			if r.opt != "" {
				if err := ParseSecurityOpt(r.opt, &s); err != nil {
					t.Fatal(err)
				}
			}
			res, out := e.run(s)
			if res.ExitCode != 0 || out != r.want {
				t.Errorf("%s (re-executed init %v): exit %d\n%s\nwant\n%s", r.name, viaInit, res.ExitCode, out, r.want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(scratch, "x")); err == nil {
		t.Error("the profile that refuses mkdir let a directory be made")
	}
	e.assertGone()
}

// TestSeccompUnconfinedAttacks shows the attacks' EPERM is the filter's:
// without it the kernel answers them otherwise (where it can tell: it
// checks the capability first for kexec_load, unless unprivileged bpf is
// allowed for bpf, and before Linux 6.9 for open_by_handle_at, which is
// then only logged).
func TestSeccompUnconfinedAttacks(t *testing.T) {
	e := newTestEnv(t)
	s := e.helper("syscalls")
	s.Seccomp = &SeccompProfile{Unconfined: true}
	res, out := e.run(s)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	for _, name := range []string{"unshare-user", "add_key", "keyctl", "open_by_handle_at", "perf_event_open"} {
		var errno int
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, name+" "); ok {
				fmt.Sscan(v, &errno)
			}
		}
		switch {
		case errno == int(unix.EPERM) && name == "open_by_handle_at":
			t.Logf("%s unconfined: EPERM, the kernel's own capability check (before Linux 6.9)", name)
		case errno == int(unix.EPERM):
			t.Errorf("%s unconfined: EPERM, so the test cannot tell the filter's EPERM from the kernel's (%s)", name, out)
		}
	}
	e.assertGone()
}

// TestSeccompExec: ctop exec's command gets the sandbox's filter.
func TestSeccompExec(t *testing.T) {
	e := newTestEnv(t)
	for _, c := range []struct {
		opt  string
		want string
	}{{"", seccompStatus(t, 1)}, {"seccomp=unconfined", seccompStatus(t, 0)}} {
		s := e.spec("sleep", "60")
		// --rm: the name is free again once it has stopped.
		s.Name, s.Detach, s.Remove = "sc", true, true
		if c.opt != "" {
			if err := ParseSecurityOpt(c.opt, &s); err != nil {
				t.Fatal(err)
			}
		}
		sb, err := Start(s)
		if err != nil {
			t.Fatal(err)
		}
		st, err := List(e.state)
		if err != nil || len(st) != 1 {
			t.Fatalf("ls: %v %v", st, err)
		}
		var out strings.Builder
		code, err := Exec(e.fs, st[0], ExecOptions{Command: []string{"grep", "^Seccomp", "/proc/self/status"}, Stdout: &out, Stderr: &out})
		if err != nil || code != 0 || strings.TrimSpace(out.String()) != c.want {
			t.Errorf("exec in a sandbox with %q: %d %v\n%s\nwant\n%s", c.opt, code, err, out.String(), c.want)
		}
		if _, err := Stop(e.fs, e.state, "sc", killNow()); err != nil {
			t.Fatal(err)
		}
		_, _ = sb.Wait()
	}
	e.assertGone()
}

// TestSeccompEveryCall compares the program's answer for every amd64
// call, with arguments 0 and with arguments all ones, against the
// profile's rules read directly: the first rule naming the call whose
// conditions hold decides.
func TestSeccompEveryCall(t *testing.T) {
	info, err := arch.GetInfo("amd64")
	if err != nil {
		t.Fatal(err)
	}
	holds := func(a specs.LinuxSeccompArg, v uint64) bool {
		switch a.Op {
		case specs.OpEqualTo:
			return v == a.Value
		case specs.OpNotEqual:
			return v != a.Value
		case specs.OpLessThan:
			return v < a.Value
		case specs.OpLessEqual:
			return v <= a.Value
		case specs.OpGreaterThan:
			return v > a.Value
		case specs.OpGreaterEqual:
			return v >= a.Value
		case specs.OpMaskedEqual:
			return v&a.Value == a.ValueTwo
		}
		t.Fatalf("op %s", a.Op)
		return false
	}
	for _, caps := range []uint64{DefaultCapMask(), ^uint64(0)} {
		e := amd64Env(caps, 6, 1)
		f, err := (*SeccompProfile)(nil).compile(e)
		if err != nil {
			t.Fatal(err)
		}
		rules, err := e.rules(seccomp.DefaultProfile())
		if err != nil {
			t.Fatal(err)
		}
		for name, nr := range info.SyscallNames {
			for _, v := range []uint64{0, ^uint64(0)} {
				want := retEPERM
			rules:
				for _, r := range rules {
					if !slices.Contains(r.Names, name) {
						continue
					}
					sets, _ := conditionSets(r.Args)
					if len(r.Args) == 0 {
						sets = [][]specs.LinuxSeccompArg{nil}
					}
					for _, set := range sets {
						ok := true
						for _, a := range set {
							ok = ok && holds(a, v)
						}
						if ok {
							want, _ = action(r.Action, r.ErrnoRet)
							break rules
						}
					}
				}
				args := []uint64{v, v, v, v, v, v}
				if got := evalFilter(t, f, auditArchX86_64, nr, args...); got != want {
					t.Errorf("caps %#x: %s(%#x...): %#x, want %#x", caps, name, v, got, want)
				}
			}
		}
	}
}
