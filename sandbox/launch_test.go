package sandbox

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func opNames(l *launch) []string {
	var out []string
	for _, o := range l.ops {
		out = append(out, o.what)
	}
	return out
}

// inOrder reports whether want appears in got as a subsequence.
func inOrder(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestPlanLaunch(t *testing.T) {
	s := Spec{
		Command:    []string{"sh", "-c", "true"},
		Namespaces: []Namespace{NSCgroup, NSIPC, NSMount, NSNet, NSPid, NSUTS},
		Hostname:   "box",
		Binds:      []Bind{{Source: "/etc", Dest: "/mnt", ReadOnly: true}},
		Tmpfs:      []Tmpfs{{Dest: "/tmp", Size: 1 << 20}},
		User:       &User{UID: 1000, GID: 100},
		Env:        []string{"PATH=/bin:/usr/bin", "A=b"},
	}
	l := planLaunch(&s, "/work", []string{"/sys/fs/cgroup/memory/ctop/x/tasks"}, [3]int{10, 11, 12}, nil)
	names := opNames(l)
	// The order matters: the cgroup namespace after the move into the
	// group, mounts before the capabilities that allow them are dropped,
	// the user last but no_new_privs and the death signal.
	want := []string{
		"set up fd 0", "set up fd 1", "set up fd 2", "set parent-death signal", "ctop exited while starting the sandbox",
		"join cgroup /sys/fs/cgroup/memory/ctop/x", "unshare cgroup namespace",
		"mount proc on /proc", "-v /etc:/mnt", "-v /etc:/mnt:ro", "--tmpfs /tmp", "--workdir /work",
		"set capabilities", "--user 1000:100: setgroups", "--user 1000:100: setgid", "--user 1000:100: setuid",
		"set no_new_privs", "set parent-death signal",
	}
	if !inOrder(names, want) {
		t.Errorf("steps out of order or missing:\n got %q\nwant %q in this order", names, want)
	}
	// The nest has made the namespaces, their propagation, hostname and
	// lo: the child inherits them.
	for _, n := range names {
		if n == "make mounts private" || n == `set hostname "box"` || n == "bring up lo" {
			t.Errorf("step %q is the nest's", n)
		}
	}
	if l.flags != 0 {
		t.Errorf("clone flags %#x: the nest unshares the namespaces", l.flags)
	}
	if got := nestFlags(&s); got != unix.CLONE_NEWIPC|unix.CLONE_NEWNS|unix.CLONE_NEWNET|unix.CLONE_NEWPID|unix.CLONE_NEWUTS {
		t.Errorf("nest flags %#x: the cgroup namespace is unshared later, the rest by the nest", got)
	}
	// A time namespace is made by clone3: a child sharing its parent's
	// memory cannot enter one its parent unshared.
	st := Spec{Command: []string{"true"}, Namespaces: []Namespace{NSPid, NSTime}}
	if f, nf := planLaunch(&st, "", nil, [3]int{3, 4, 5}, nil).flags, nestFlags(&st); f != unix.CLONE_NEWTIME || nf != unix.CLONE_NEWPID {
		t.Errorf("time namespace: clone flags %#x, nest flags %#x", f, nf)
	}
	drops := 0
	for _, n := range names {
		if strings.HasPrefix(n, "drop capability ") {
			drops++
		}
	}
	if keep := bits.OnesCount64(DefaultCapMask()); drops != lastCap()+1-keep {
		t.Errorf("%d capabilities dropped from the bounding set, want %d", drops, lastCap()+1-keep)
	}
	// The read-only remount falls back to mount(2) without mount_setattr.
	ro := l.ops[slices.Index(names, "-v /etc:/mnt:ro")]
	if ro.trap != unix.SYS_MOUNT_SETATTR || ro.fallback == 0 {
		t.Fatalf("read-only bind: trap %d fallback %d", ro.trap, ro.fallback)
	}
	if alt := l.alts[ro.fallback-1]; alt.trap != unix.SYS_MOUNT || alt.args[3]&(unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_BIND) != unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_BIND {
		t.Errorf("fallback: trap %d flags %#x", alt.trap, alt.args[3])
	}
	// /proc/sys is a bind of the fresh /proc, whose flags the fallback
	// repeats, not those of the host's /proc.
	for i, o := range l.ops {
		if names[i] == "read-only /proc/sys" && o.trap == unix.SYS_MOUNT_SETATTR {
			if o.fallback == 0 || l.alts[o.fallback-1].args[3]&procFlags != procFlags {
				t.Errorf("read-only /proc/sys: fallback %d without the fresh /proc's flags", o.fallback)
			}
		}
	}
	if !slices.Equal(l.pathNames, []string{"/bin/sh", "/usr/bin/sh"}) {
		t.Errorf("command candidates %q, want the spec's PATH in order", l.pathNames)
	}
	if len(l.argv) != 4 || l.argv[3] != nil || l.envv[len(l.envv)-1] != nil {
		t.Errorf("argv and envv must end with nil: %d %d", len(l.argv), len(l.envv))
	}

	// A command with a slash is not searched for; without a mount
	// namespace nothing is mounted.
	s2 := Spec{Command: []string{"./run"}, Namespaces: []Namespace{NSPid}}
	l2 := planLaunch(&s2, "", nil, [3]int{3, 4, 5}, nil)
	if !slices.Equal(l2.pathNames, []string{"./run"}) {
		t.Errorf("command with a slash: candidates %q", l2.pathNames)
	}
	for _, n := range opNames(l2) {
		if strings.HasPrefix(n, "mount ") || strings.HasPrefix(n, "mask ") {
			t.Errorf("step %q without its namespace", n)
		}
	}
}

func TestExecFailure(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		paths []string
		i     int
		errno syscall.Errno
		code  int
		msg   string
	}{
		{"tool", []string{"/bin/tool"}, -1, unix.ENOENT, ExitNotFound, "tool: executable file not found in $PATH"},
		{"/no/tool", []string{"/no/tool"}, -1, unix.ENOENT, ExitNotFound, "/no/tool: no such file or directory"},
		{"/a/b", []string{"/a/b"}, 0, unix.ENOTDIR, ExitNotFound, "/a/b: no such file or directory"},
		{"d", []string{dir}, 0, unix.EACCES, ExitCannotExec, dir + " is a directory"},
		{"f", []string{file}, 0, unix.EACCES, ExitCannotExec, file + ": permission denied"},
		{"f", []string{file}, 0, unix.ENOEXEC, ExitCannotExec, "exec " + file + ": exec format error"},
	} {
		err := execFailure(tc.name, tc.paths, tc.i, tc.errno)
		var se *StartError
		if !errors.As(err, &se) || se.Code != tc.code || err.Error() != tc.msg {
			t.Errorf("%s %v: %v (%T), want %d %q", tc.name, tc.errno, err, err, tc.code, tc.msg)
		}
	}
}

func TestCanLaunch(t *testing.T) {
	if !haveClone3() {
		t.Skip("no clone3 here: every sandbox takes the re-executed init")
	}
	for _, tc := range []struct {
		s    Spec
		want bool
	}{
		{Spec{Namespaces: DefaultNamespaces()}, directLaunchArch},
		{Spec{Namespaces: DefaultNamespaces(), Rootfs: "/srv/root"}, false},
		{Spec{Namespaces: append(DefaultNamespaces(), NSUser)}, false},
	} {
		if got := canLaunch(&tc.s); got != tc.want {
			t.Errorf("canLaunch(rootfs %q, ns %v) = %v, want %v", tc.s.Rootfs, tc.s.Namespaces, got, tc.want)
		}
	}
}

// TestLaunchSetupFailure: a step that fails in the child or the init is
// reported by name, with exit code 125, and leaves nothing behind.
func TestLaunchSetupFailure(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		mod  func(*Spec)
		want string
	}{
		// -w makes a missing directory (TestWorkdirMade); one under a
		// file cannot be made.
		{func(s *Spec) { s.Workdir = "/dev/null/dir" }, "--workdir /dev/null/dir: mkdir /dev/null/dir: not a directory"},
		{func(s *Spec) { s.Binds = []Bind{{Source: "/no/such/src", Dest: "/mnt"}} }, "-v /no/such/src:/mnt: no such file or directory"},
	} {
		// The same failure, by the same step, on both paths.
		for _, viaInit := range []bool{false, true} {
			s := e.spec("true")
			s.viaInit = viaInit
			tc.mod(&s)
			_, err := Start(s)
			var se *StartError
			if !errors.As(err, &se) || se.Code != ExitFailed || err.Error() != tc.want {
				t.Errorf("re-executed init %v: got %v, want 125 %q", viaInit, err, tc.want)
			}
			e.assertGone()
		}
	}
}

// TestStateFile: a running sandbox is one state file, and a second
// sandbox of its name is refused without touching the first.
func TestStateFile(t *testing.T) {
	e := newTestEnv(t)
	s := e.spec("sleep", "30")
	s.Name = "dup"
	sb, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Wait()
	ents, err := os.ReadDir(e.state)
	if err != nil || len(ents) != 1 || ents[0].Name() != "dup.json" || !ents[0].Type().IsRegular() {
		t.Fatalf("state directory holds %v (%v), want dup.json alone", ents, err)
	}
	_, err = Start(s)
	var se *StartError
	if !errors.As(err, &se) || se.Code != ExitFailed || !strings.Contains(err.Error(), "--name dup") {
		t.Errorf("second sandbox named dup: %v, want a 125 error naming --name dup", err)
	}
	// The first is untouched: its state, pid (written while it runs) and
	// group are there.
	var st *State
	for range 100 {
		if st, err = Load(e.state, "dup"); err != nil || st.Pid != 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || st.Pid != sb.Pid || !st.Running() {
		t.Fatalf("first sandbox's state after the refusal: %+v, %v", st, err)
	}
	if _, ok := e.fs.Dir("pids", sb.Cgroup()); !ok {
		t.Fatal("no pids hierarchy")
	}
	if procs := e.cgroupFile("pids", sb.Cgroup(), "cgroup.procs"); procs == "" {
		t.Errorf("first sandbox's group is empty")
	}
	if _, err := Stop(e.fs, e.state, "dup", killNow()); err != nil {
		t.Fatal(err)
	}
	if res, err := sb.Wait(); err != nil || res.ExitCode != 137 {
		t.Errorf("stopped sandbox: %d %v, want 137", res.ExitCode, err)
	}
	// A missing state root is made, with the mode runc gives its own.
	s = e.spec("true")
	s.StateDir = filepath.Join(e.state, "new", "root")
	if res, _ := e.run(s); res.ExitCode != 0 {
		t.Errorf("sandbox with a new state root: exit %d", res.ExitCode)
	}
	if st, err := os.Stat(s.StateDir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("state root: %v %v, want a directory of mode 0700", st, err)
	}
	if ents, _ := os.ReadDir(s.StateDir); len(ents) != 0 {
		t.Errorf("state root keeps %v after the sandbox", ents)
	}
	os.RemoveAll(filepath.Join(e.state, "new")) // the root stays, as /run/runc does
	e.assertGone()
}

// TestLaunchTTY: with a terminal the command leads a session whose
// controlling terminal is the new pseudo-terminal, its three streams.
func TestLaunchTTY(t *testing.T) {
	e := newTestEnv(t)
	s := e.spec("sh", "-c", `tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo streams-ok; cat /proc/$$/stat`)
	s.TTY = true
	res, out := e.run(s)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %q", res.ExitCode, out)
	}
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "streams-ok") {
		t.Errorf("output %q: want a /dev/pts terminal on all three streams", out)
	}
	// In its pid namespace sh is pid 1, the session leader (session 1,
	// field 6 of /proc/PID/stat) with a pseudo-terminal (major 136, field
	// 7) as its controlling terminal.
	f := strings.Fields(out[strings.LastIndex(out, ")")+1:])
	if len(f) < 5 {
		t.Fatalf("stat %q", out)
	}
	if tty, err := strconv.Atoi(f[4]); f[3] != "1" || err != nil || unix.Major(uint64(tty)) != 136 {
		t.Errorf("session %s, controlling terminal %s: want session 1 on a pseudo-terminal", f[3], f[4])
	}
	e.assertGone()
}

// TestProcMasked: both ways of starting a sandbox (a launch without a
// rootfs, the re-executed init with one) hide the /proc files docker masks
// and leave /proc/sys read-only.
func TestProcMasked(t *testing.T) {
	e := newTestEnv(t)
	var files []string
	for _, p := range maskedPaths() {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && strings.HasPrefix(p, "/proc/") {
			files = append(files, p)
		}
	}
	if len(files) == 0 {
		t.Skip("this kernel has none of the /proc files docker masks")
	}
	script := ""
	for _, p := range files {
		script += "echo " + p + " $(cat " + p + " | wc -c); "
	}
	script += "if echo 1 2>/dev/null > /proc/sys/kernel/sysrq; then echo sys-writable; else echo sys-read-only; fi"
	for _, rootfs := range []string{"", busyboxRootfs(t)} {
		s := e.spec("sh", "-c", script)
		s.Rootfs = rootfs
		if rootfs != "" {
			s.Env = []string{"PATH=/bin"}
		}
		if got := canLaunch(&s); got != (rootfs == "" && haveClone3() && directLaunchArch) {
			t.Fatalf("rootfs %q: canLaunch %v", rootfs, got)
		}
		res, out := e.run(s)
		if res.ExitCode != 0 {
			t.Fatalf("rootfs %q: exit %d: %q", rootfs, res.ExitCode, out)
		}
		for _, p := range files {
			if !strings.Contains(out, p+" 0\n") {
				t.Errorf("rootfs %q: %s not masked: %q", rootfs, p, out)
			}
		}
		if !strings.Contains(out, "sys-read-only") {
			t.Errorf("rootfs %q: /proc/sys writable: %q", rootfs, out)
		}
	}
	e.assertGone()
}

// TestUser: --user switches both ways of starting a sandbox to the uid and
// gid given, with no supplementary groups and, as docker does for a user
// other than root, no capabilities left.
func TestUser(t *testing.T) {
	e := newTestEnv(t)
	for _, rootfs := range []string{"", busyboxRootfs(t)} {
		s := e.spec("sh", "-c", `grep -E "^(Uid|Gid|Groups|CapEff|NoNewPrivs):" /proc/self/status`)
		s.Rootfs, s.User = rootfs, &User{UID: 1234, GID: 2345}
		if rootfs != "" {
			s.Env = []string{"PATH=/bin"}
		}
		res, out := e.run(s)
		if res.ExitCode != 0 {
			t.Fatalf("rootfs %q: exit %d: %q", rootfs, res.ExitCode, out)
		}
		for _, want := range []string{"Uid:\t1234\t1234\t1234\t1234", "Gid:\t2345\t2345\t2345\t2345",
			"CapEff:\t0000000000000000", "NoNewPrivs:\t1"} {
			if !strings.Contains(out, want) {
				t.Errorf("rootfs %q: status lacks %q:\n%s", rootfs, want, out)
			}
		}
		if i := strings.Index(out, "Groups:"); i < 0 || strings.TrimSpace(strings.SplitN(out[i+len("Groups:"):], "\n", 2)[0]) != "" {
			t.Errorf("rootfs %q: supplementary groups left:\n%s", rootfs, out)
		}
	}
	e.assertGone()
}

// TestSignalsDefault: a signal ctop ignores (as a detached sandbox's
// monitor does) is not ignored in the sandbox, whichever init starts it.
func TestSignalsDefault(t *testing.T) {
	e := newTestEnv(t)
	signal.Ignore(syscall.SIGHUP, syscall.SIGTERM, syscall.SIGPIPE)
	defer signal.Reset(syscall.SIGHUP, syscall.SIGTERM, syscall.SIGPIPE)
	for _, rootfs := range []string{"", busyboxRootfs(t)} {
		s := e.spec("grep", "SigIgn", "/proc/self/status")
		s.Rootfs = rootfs
		if rootfs != "" {
			s.Env = []string{"PATH=/bin"}
		}
		res, out := e.run(s)
		if res.ExitCode != 0 || strings.TrimSpace(out) != "SigIgn:\t0000000000000000" {
			t.Errorf("rootfs %q: exit %d, %q; want no signal ignored", rootfs, res.ExitCode, out)
		}
	}
	e.assertGone()
}

// TestRestoreNofile: a soft limit on open files one below the hard limit
// (the Go runtime's doing) goes back to 1024 in a launched sandbox; any
// other is left as it is.
func TestRestoreNofile(t *testing.T) {
	var orig unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &orig); err != nil || orig.Max < 2048 {
		t.Skipf("hard limit on open files %d: too low to test", orig.Max)
	}
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &orig)
	s := Spec{Command: []string{"true"}, Namespaces: []Namespace{NSPid}}
	for _, tc := range []struct {
		cur  uint64
		want string
	}{{orig.Max - 1, "restore the open files limit"}, {orig.Max, ""}, {512, ""}} {
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: tc.cur, Max: orig.Max}); err != nil {
			t.Fatal(err)
		}
		l := planLaunch(&s, "", nil, [3]int{3, 4, 5}, nil)
		got := slices.Contains(opNames(l), "restore the open files limit")
		if got != (tc.want != "") || (got && l.nofile.Cur != 1024) {
			t.Errorf("soft limit %d of %d: restore step %v (%+v)", tc.cur, orig.Max, got, l.nofile)
		}
	}
}

// TestNestThreadsEnd: the threads that make sandboxes' namespaces end
// once the sandboxes have, and none is the main thread, which the runtime
// never ends and whose namespaces /proc shows as ctop's own.
func TestNestThreadsEnd(t *testing.T) {
	e := newTestEnv(t)
	self := strconv.Itoa(os.Getpid())
	host := nsID(t, self, NSNet)
	for range 30 {
		if res, _ := e.run(e.spec("true")); res.ExitCode != 0 {
			t.Fatalf("exit %d", res.ExitCode)
		}
		if nsID(t, self, NSNet) != host {
			t.Fatal("ctop's main thread is left in a sandbox's network namespace")
		}
	}
	// A nest's thread ends when its goroutine returns, just after Wait.
	deadline := time.Now().Add(5 * time.Second)
	for {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		var stray []string
		for _, task := range tasks {
			var st unix.Stat_t
			// ENOENT: the thread ended meanwhile.
			if unix.Stat("/proc/self/task/"+task.Name()+"/ns/net", &st) == nil && [2]uint64{st.Dev, st.Ino} != host {
				stray = append(stray, task.Name())
			}
		}
		if len(stray) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads %v are still in sandboxes' network namespaces", stray)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.assertGone()
}

// TestExecLeavesMainThread: ctop exec joins the sandbox's namespaces on a
// thread of its own, never the main thread, which the runtime keeps when
// a goroutine locked to it ends, and whose namespaces /proc/PID/ns shows
// as the process's (a later start from there made its sandbox in the
// namespaces of the last one exec'd into).
func TestExecLeavesMainThread(t *testing.T) {
	e := newTestEnv(t)
	self := strconv.Itoa(os.Getpid())
	host := nsID(t, self, NSNet)
	s := e.spec("sleep", "60")
	s.Name, s.Detach, s.Remove = "execmain", true, true
	sb, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = Stop(e.fs, e.state, s.Name, killNow()); _, _ = sb.Wait() })
	st, err := Load(e.state, s.Name)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if code, err := Exec(e.fs, st, ExecOptions{Command: []string{"true"}}); code != 0 || err != nil {
			t.Fatalf("exec %d: %d %v", i, code, err)
		}
		if nsID(t, self, NSNet) != host {
			t.Fatalf("after exec %d ctop's main thread is in the sandbox's network namespace", i)
		}
	}
}

// stepNames names a plan's steps, the host-dependent runs (docker's masks,
// the capabilities dropped from the bounding set, signal resets) as one
// name each.
func stepNames(steps []step) []string {
	var out []string
	for _, st := range steps {
		n := st.what
		switch {
		case strings.HasPrefix(n, "mask "):
			n = "mask…"
		case strings.HasPrefix(n, "read-only /proc/"):
			n = "read-only /proc…"
		case st.kind == stepCapDrop:
			n = "drop capabilities…"
		case st.kind == stepSignal:
			continue
		}
		if len(out) > 0 && out[len(out)-1] == n && strings.HasSuffix(n, "…") {
			continue
		}
		out = append(out, n)
	}
	return out
}

// hostSteps are the names stepNames gives the host-dependent mount steps
// of a plan with a mount namespace, in order.
func hostSteps(withCgroupFS bool) []string {
	out := stepNames(hostMasks())
	if _, err := os.Stat("/sys/fs/cgroup"); err == nil && withCgroupFS {
		out = append(out, "cgroup filesystems")
	}
	return out
}

// TestBuildPlan: the plan of representative specs has the expected steps
// in order, and the re-executed init's plan of a spec is the launch's, less
// only the steps a launch's child needs for want of a parent's help.
func TestBuildPlan(t *testing.T) {
	def := Spec{Command: []string{"sh"}, Namespaces: DefaultNamespaces()}
	privs := []string{"drop capabilities…", "clear ambient capabilities", "set capabilities", "set no_new_privs", "set parent-death signal"}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }
	user := &User{UID: 1000, GID: 100}
	withUser := def
	withUser.User = user
	hostNet := def
	hostNet.Namespaces = []Namespace{NSPid, NSMount, NSUTS, NSIPC, NSCgroup}
	rootfs := def
	rootfs.Rootfs = "/srv/root"
	userNS := rootfs
	userNS.Namespaces, userNS.User = append(DefaultNamespaces(), NSUser), user
	exec := Spec{Command: []string{"sh"}, Namespaces: DefaultNamespaces(), Workdir: "/", User: user}
	execUser := exec
	execUser.Namespaces = append(DefaultNamespaces(), NSUser)
	launchHead := []string{"set up fd 0", "set up fd 1", "set up fd 2", "set parent-death signal",
		"ctop exited while starting the sandbox", "join cgroup /sys/fs/cgroup/pids/ctop/x"}
	userSteps := []string{"--user 1000:100: setgroups", "--user 1000:100: setgid", "--user 1000:100: setuid"}
	// The host's files read-only, private /tmp, /var/tmp and /run, a
	// minimal /dev, a fresh sysfs in a new net namespace, the cgroup
	// filesystems of the sandbox's cgroup namespace.
	hostMounts := func(net bool) []string {
		sys := []string{}
		if net {
			sys = []string{"mount a read-only sysfs on /sys"}
		}
		return cat([]string{"unshare cgroup namespace"}, stepNames(hostRO()), []string{"mount proc on /proc"},
			stepNames(hostTmp()), stepNames(devSteps(false, true, true)), sys, stepNames(cgroupFS()), hostSteps(false))
	}
	mounts := hostMounts(true)
	rootMounts := func(userns bool) []string {
		return cat([]string{"unshare cgroup namespace", "--rootfs /srv/root", "mount proc on /proc"},
			stepNames(devSteps(userns, true, false)), []string{"/sys"}, stepNames(cgroupFS()), hostSteps(false), []string{"pivot_root"})
	}
	joins := []string{"/sys/fs/cgroup/pids/ctop/x/tasks"}
	// The nest makes the host's view; the child the cgroup namespace's
	// mounts and what follows /proc.
	nestView := def
	nestView.nestView = true
	nestMounts := cat(stepNames(hostRO()), stepNames(hostTmp()), stepNames(devSteps(false, true, true)),
		[]string{"mount a read-only sysfs on /sys"})
	for _, tc := range []struct {
		name string
		s    Spec
		e    planEnv
		want []string
	}{
		{"default launch", def, planEnv{via: viaLaunch, cwd: "/work", joins: joins},
			cat([]string{"create namespaces", "make mounts private", "bring up lo"}, launchHead, mounts,
				[]string{"--workdir /work"}, privs)},
		{"default launch, the host's view made by the nest", nestView, planEnv{via: viaLaunch, cwd: "/work", joins: joins},
			cat([]string{"create namespaces", "make mounts private", "bring up lo"}, nestMounts, launchHead,
				[]string{"unshare cgroup namespace", "mount proc on /proc"}, stepNames(cgroupFS()), hostSteps(false),
				[]string{"--workdir /work"}, privs)},
		{"the init ignores nestView", nestView, planEnv{via: viaInit, cwd: "/work"},
			cat([]string{"make mounts private", "bring up lo"}, mounts, []string{"--workdir /work"}, privs)},
		{"default init", def, planEnv{via: viaInit, cwd: "/work"},
			cat([]string{"make mounts private", "bring up lo"}, mounts, []string{"--workdir /work"}, privs)},
		{"--network host", hostNet, planEnv{via: viaLaunch, joins: joins},
			cat([]string{"create namespaces", "make mounts private"}, launchHead, hostMounts(false), privs)},
		{"--user", withUser, planEnv{via: viaLaunch, joins: joins},
			cat([]string{"create namespaces", "make mounts private", "bring up lo"}, launchHead, mounts,
				privs[:3], userSteps, privs[3:])},
		{"--rootfs", rootfs, planEnv{via: viaInit, cwd: "/work"},
			cat([]string{"make mounts private", "bring up lo"}, rootMounts(false), privs)},
		{"user namespace", userNS, planEnv{via: viaInit},
			cat([]string{"make mounts private", "bring up lo"}, rootMounts(true), privs[:3], userSteps[1:], privs[3:])},
		{"exec", exec, planEnv{via: viaExec, cwd: "/work", mountNSFD: 4, cgroupNSFD: 5},
			cat([]string{"set parent-death signal", "enter cgroup namespace", "unshare fs", "enter mount namespace", "--workdir /"},
				privs[:3], userSteps, privs[3:])},
		// With ctop exec's pidfd, each parent-death signal is followed
		// by the check that ctop exec is still there to send it.
		{"exec with its parent's pidfd", exec, planEnv{via: viaExec, cwd: "/work", mountNSFD: 4, parentFD: 6},
			cat([]string{"set parent-death signal", "ctop exec exited while starting the command", "unshare fs", "enter mount namespace", "--workdir /"},
				privs[:3], userSteps, privs[3:], []string{"ctop exec exited while starting the command"})},
		// Into a user namespace, exec's command is a launch's child: its
		// streams and cgroups first, the user namespace last.
		{"exec launched into a user namespace", execUser, planEnv{via: viaExec, launched: true, stdio: [3]int{3, 4, 5},
			joins: joins, mountNSFD: 4, userNSFD: 7, parentFD: 6},
			cat(launchHead[:3], []string{"join cgroup /sys/fs/cgroup/pids/ctop/x", "set parent-death signal",
				"ctop exec exited while starting the command", "unshare fs", "enter mount namespace", "enter user namespace", "--workdir /"},
				privs[:3], userSteps[1:], privs[3:], []string{"ctop exec exited while starting the command"})},
	} {
		p := buildPlan(&tc.s, tc.e)
		got := slices.DeleteFunc(stepNames(p.steps), func(n string) bool { return n == "restore the open files limit" })
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s: steps (-want +got):\n%s", tc.name, d)
		}
		for _, st := range p.steps[p.forkAt:] {
			if tc.e.via == viaLaunch && st.kind >= stepRoot {
				t.Errorf("%s: a launch's child cannot make step %q", tc.name, st.what)
			}
		}
	}

	// One list: the init's plan of a spec is the launch's, step for step,
	// once the launch's own steps are left out (the nest's unshare, made
	// by clone for the init; the child's streams, parent checks and
	// cgroup joins, made by the parent for the init; the open files limit,
	// restored by the init's execve).
	launchOnly := func(st step) bool {
		switch st.kind {
		case stepSetsid, stepDup, stepParentAlive, stepJoin, stepNofile:
			return true
		case stepUnshare:
			return st.what == "create namespaces"
		}
		return false
	}
	for _, s := range []Spec{def, hostNet, withUser, {Command: []string{"sh"}, Namespaces: []Namespace{NSPid}, TTY: true, Hostname: ""}} {
		l := buildPlan(&s, planEnv{via: viaLaunch, cwd: "/work", joins: joins, stdio: [3]int{3, 4, 5}})
		in := buildPlan(&s, planEnv{via: viaInit, cwd: "/work"})
		// The first parent-death signal, before the parent check, is the
		// launch's own (the init's parent sets it, SysProcAttr.Pdeathsig);
		// the last follows the change of credentials on both paths.
		first := slices.IndexFunc(l.steps, func(st step) bool { return st.kind == stepPdeathsig })
		var shared []step
		for i, st := range l.steps {
			if i == first || launchOnly(st) {
				continue
			}
			shared = append(shared, st)
		}
		if d := cmp.Diff(in.steps, shared, cmp.AllowUnexported(step{})); d != "" {
			t.Errorf("ns %v: the init's steps differ from the launch's (-init +launch):\n%s", s.Namespaces, d)
		}
	}
	// Where the nest makes the host's view, the launch makes the init's
	// steps as well, in another order.
	l := buildPlan(&nestView, planEnv{via: viaLaunch, cwd: "/work", joins: joins})
	in := buildPlan(&nestView, planEnv{via: viaInit, cwd: "/work"})
	first := slices.IndexFunc(l.steps, func(st step) bool { return st.kind == stepPdeathsig })
	var shared []string
	for i, st := range l.steps {
		if i != first && !launchOnly(st) {
			shared = append(shared, st.what)
		}
	}
	var want []string
	for _, st := range in.steps {
		want = append(want, st.what)
	}
	slices.Sort(shared)
	slices.Sort(want)
	if d := cmp.Diff(want, shared); d != "" {
		t.Errorf("the host's view in the nest: the init's steps differ from the launch's (-init +launch):\n%s", d)
	}
}

// TestBehaviourBothPaths: each step of a sandbox's setup has the same
// effect whether the sandbox starts by a launch or by the re-executed
// init, as seen from inside.
func TestBehaviourBothPaths(t *testing.T) {
	e := newTestEnv(t)
	if !haveClone3() || !directLaunchArch {
		t.Skip("no launch here: every sandbox takes the re-executed init")
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	caps := fmt.Sprintf("%016x", DefaultCapMask())
	type row struct {
		name   string
		mod    func(*Spec)
		script string
		want   string
	}
	rows := []row{
		{"read-only /proc/sys", nil,
			"if echo 1 2>/dev/null > /proc/sys/kernel/sysrq; then echo writable; else echo read-only; fi", "read-only"},
		{"hostname", func(s *Spec) { s.Hostname = "planbox" }, "cat /proc/sys/kernel/hostname", "planbox"},
		// The local routing table has 127.0.0.1 once lo is up.
		{"loopback up", nil, "grep -q 127.0.0.1 /proc/net/fib_trie && echo up || echo down", "up"},
		{"capabilities", nil, "grep -E '^Cap(Eff|Bnd|Amb):' /proc/self/status",
			"CapEff:\t" + caps + "\nCapBnd:\t" + caps + "\nCapAmb:\t0000000000000000"},
		{"no_new_privs", nil, "grep NoNewPrivs /proc/self/status", "NoNewPrivs:\t1"},
		{"user and groups", func(s *Spec) { s.User = &User{UID: 1234, GID: 2345} },
			"grep -E '^(Uid|Gid|Groups|CapEff):' /proc/self/status",
			"Uid:\t1234\t1234\t1234\t1234\nGid:\t2345\t2345\t2345\t2345\nGroups:\t \nCapEff:\t0000000000000000"},
		{"workdir", func(s *Spec) { s.Workdir = "/tmp" }, "pwd", "/tmp"},
		{"default workdir", nil, "pwd", cwd},
		{"cgroup filesystems read-only", nil,
			"if mkdir /sys/fs/cgroup/pids/ctop-test-plan-x 2>/dev/null; then echo writable; else echo read-only; fi", "read-only"},
	}
	for _, p := range maskedPaths() {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && strings.HasPrefix(p, "/proc/") {
			rows = append(rows, row{"masked " + p, nil, "wc -c < " + p, "0"})
		}
	}
	for _, r := range rows {
		for _, viaInit := range []bool{false, true} {
			s := e.spec("sh", "-c", r.script)
			s.viaInit = viaInit
			if r.mod != nil {
				r.mod(&s)
			}
			if canLaunch(&s) == viaInit {
				t.Fatalf("%s: canLaunch %v with viaInit %v", r.name, !viaInit, viaInit)
			}
			res, out := e.run(s)
			if got := strings.TrimRight(out, "\n"); res.ExitCode != 0 || got != r.want {
				t.Errorf("%s (re-executed init %v): exit %d, %q; want %q", r.name, viaInit, res.ExitCode, got, r.want)
			}
		}
	}
	e.assertGone()
}

// TestParentAliveStep: exec's parent check, made as the exec child makes
// it (runSteps), passes while the process its pidfd names lives and fails
// once it has exited: the case of a ctop exec killed before its child set
// the parent-death signal, which no kill timing hits reliably.
func TestParentAliveStep(t *testing.T) {
	c := exec.Command("sleep", "60")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.PidfdOpen(c.Process.Pid, 0)
	if err != nil {
		c.Process.Kill()
		c.Wait()
		t.Skipf("no pidfd: %v", err)
	}
	defer unix.Close(fd)
	steps := buildPlan(&Spec{Command: []string{"true"}}, planEnv{via: viaExec, parentFD: fd}).steps
	i := slices.IndexFunc(steps, func(st step) bool { return st.kind == stepParentAlive })
	if i < 0 {
		t.Fatal("no parent check in exec's plan")
	}
	check := steps[i : i+1]
	if err := runSteps(check); err != nil {
		t.Errorf("parent alive: %v", err)
	}
	c.Process.Kill()
	c.Wait()
	if err := runSteps(check); !errors.Is(err, unix.ESRCH) {
		t.Errorf("parent gone: %v, want ESRCH", err)
	}
}

// TestViewInNest: the nest makes the host's view only where no copy of a
// tree has to cross the clone (a -v from a private directory, a
// --device) and the sandbox is launched with its own mount namespace.
func TestViewInNest(t *testing.T) {
	if resolvInPrivate() != "" {
		t.Skip("/etc/resolv.conf links into a private directory: every sandbox copies it")
	}
	vol := t.TempDir()
	if underPrivate(vol) == "" {
		t.Skip("the test's temporary directory is not under a private one")
	}
	def := Spec{Namespaces: DefaultNamespaces()}
	for _, tc := range []struct {
		name string
		mod  func(*Spec)
		want bool
	}{
		{"default", func(*Spec) {}, true},
		{"-v from the host's files", func(s *Spec) { s.Binds = []Bind{{Source: "/etc", Dest: "/mnt"}} }, true},
		{"--host-root rw", func(s *Spec) { s.HostRoot = HostRootRW }, true},
		{"-v from a private directory", func(s *Spec) { s.Binds = []Bind{{Source: vol, Dest: "/mnt"}} }, false},
		{"--device", func(s *Spec) { s.Devices = []Device{{Host: "/dev/null", Container: "/dev/x"}} }, false},
		{"no mount namespace", func(s *Spec) { s.Namespaces = []Namespace{NSPid, NSNet} }, false},
		{"user namespace", func(s *Spec) { s.Namespaces = append(DefaultNamespaces(), NSUser) }, false},
	} {
		s := def
		tc.mod(&s)
		if got := viewInNest(&s); got != tc.want {
			t.Errorf("%s: viewInNest = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestStartLeavesNoFDs: a start leaves no file or tree of ctop's open, on
// both paths: the cgroup files the child joins by, and the copies of trees
// the nest or the child make (a -v from a private directory). Pipes,
// sockets and anonymous inodes are left out of the count: the runtime's,
// and on v2 the device filter's program, which the eBPF library closes
// when the garbage collector finds it.
func TestStartLeavesNoFDs(t *testing.T) {
	e := newTestEnv(t)
	vol := t.TempDir()
	files := func() []string {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ents {
			to, err := os.Readlink(filepath.Join("/proc/self/fd", x.Name()))
			if err != nil || strings.HasPrefix(to, "anon_inode:") || strings.HasPrefix(to, "pipe:") || strings.HasPrefix(to, "socket:") {
				continue
			}
			out = append(out, to)
		}
		slices.Sort(out)
		return out
	}
	run := func(viaInit bool, binds []Bind) {
		s := e.spec("true")
		s.viaInit, s.Binds = viaInit, binds
		sb, err := Start(s)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := sb.Wait(); err != nil || res.ExitCode != 0 {
			t.Fatal(res.ExitCode, err)
		}
	}
	for _, viaInit := range []bool{false, true} {
		for _, binds := range [][]Bind{nil, {{Source: vol, Dest: "/mnt"}}} {
			run(viaInit, binds) // the runtime's own fds, opened once
			before := files()
			for range 3 {
				run(viaInit, binds)
			}
			if d := cmp.Diff(before, files()); d != "" {
				t.Errorf("re-executed init %v, binds %v: files open after 3 starts (-before +after):\n%s", viaInit, binds, d)
			}
		}
	}
}
