package systemd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests of rootless sandboxes: user tester (uid 1000, with
// linger, so user@1000.service runs, and 100000:65536 in /etc/subuid and
// /etc/subgid) runs ctop in a scope of its own user manager, as a command
// in a login session does, and its sandboxes live in the subtree systemd
// delegates to it.

const (
	testerName = "tester"
	testerUID  = 1000
	testerSub  = 100000
)

// requireTester skips unless the VM has the user and what a rootless
// sandbox needs: its subordinate ids, newuidmap and its user manager.
func requireTester(t *testing.T) {
	t.Helper()
	requireVM(t)
	u, err := user.Lookup(testerName)
	if err != nil || u.Uid != strconv.Itoa(testerUID) {
		t.Skipf("no user %s with uid %d: %v", testerName, testerUID, err)
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), fmt.Sprintf("%s:%d:65536", testerName, testerSub)) {
			t.Skipf("%s has no range %d:65536 for %s: %v", f, testerSub, testerName, err)
		}
	}
	for _, h := range []string{"newuidmap", "newgidmap", "runuser", "systemd-run"} {
		if _, err := exec.LookPath(h); err != nil {
			t.Skipf("no %s: %v", h, err)
		}
	}
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/systemd/private", testerUID)); err != nil {
		t.Skipf("user@%d.service is not running (linger): %v", testerUID, err)
	}
}

// run is how a command ended.
type run struct {
	stdout, stderr string
	code           int
}

func (r run) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// asTester runs ctop with args as tester, in a transient scope of its
// user manager (systemd-run --user reaches it through
// $XDG_RUNTIME_DIR/systemd/private).
func asTester(t *testing.T, args ...string) run {
	t.Helper()
	argv := append([]string{"-u", testerName, "--", "env", fmt.Sprintf("XDG_RUNTIME_DIR=/run/user/%d", testerUID),
		"systemd-run", "--user", "--scope", "--quiet", "--", ctopBin(t)}, args...)
	return runCmd(t, "runuser", argv...)
}

func runCmd(t *testing.T, name string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = "/"
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// A detached sandbox's monitor may keep a copy of the streams.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r := run{stdout: strings.TrimSpace(out.String()), stderr: strings.TrimSpace(errb.String())}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return r
}

// testerRun runs ctop run as tester and fails the test unless the
// command exits with code.
func testerRun(t *testing.T, code int, args ...string) run {
	t.Helper()
	r := asTester(t, append([]string{"run", "--rm"}, args...)...)
	if r.code != code {
		t.Fatalf("ctop run %s as %s: %v; want exit %d", strings.Join(args, " "), testerName, r, code)
	}
	return r
}

// oneLine fails unless msg is one line that contains every part.
func oneLine(t *testing.T, what, msg string, parts ...string) {
	t.Helper()
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("%s: want one line, got %q", what, msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("%s: %q lacks %q", what, msg, p)
		}
	}
}

// delegated are the controllers user@1000.service's children may have.
func delegated(t *testing.T) []string {
	t.Helper()
	p := filepath.Join(cgroupRoot, fmt.Sprintf("user.slice/user-%d.slice/user@%d.service/cgroup.controllers", testerUID, testerUID))
	return strings.Fields(readTrim(t, p))
}

func TestRootlessIDs(t *testing.T) {
	requireTester(t)
	r := testerRun(t, 0, "--", "sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map")
	lines := strings.Split(r.stdout, "\n")
	if len(lines) != 6 || lines[0] != "0" || lines[1] != "0" {
		t.Fatalf("id and maps inside: %q", r.stdout)
	}
	want := [][]string{{"0", "1000", "1"}, {"1", "100000", "65536"}}
	for i, l := range lines[2:] {
		if got := strings.Fields(l); strings.Join(got, " ") != strings.Join(want[i%2], " ") {
			t.Errorf("map line %d = %q, want %q", i, l, strings.Join(want[i%2], " "))
		}
	}
	// The caller's supplementary groups stay outside.
	r = testerRun(t, 0, "--", "sh", "-c", "cat /proc/self/status | grep ^Groups:")
	if f := strings.Fields(r.stdout); len(f) != 1 {
		t.Errorf("groups inside: %q, want none", r.stdout)
	}

	// A file uid 1 makes inside belongs to the first subordinate id.
	dir, err := os.MkdirTemp("", "ctop-test-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	testerRun(t, 0, "-v", dir+":/mnt", "--user", "1:1", "--", "sh", "-c", "touch /mnt/by-uid-1")
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(dir, "by-uid-1"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != testerSub || st.Gid != testerSub {
		t.Errorf("a file uid 1:1 made is %d:%d on the host, want %d:%d", st.Uid, st.Gid, testerSub, testerSub)
	}
	// Root inside is tester outside.
	testerRun(t, 0, "-v", dir+":/mnt", "--", "sh", "-c", "touch /mnt/by-root")
	if err := syscall.Stat(filepath.Join(dir, "by-root"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != testerUID {
		t.Errorf("a file root inside made belongs to uid %d, want %d", st.Uid, testerUID)
	}

	// --uidmap inside the range is mapped; outside it is refused.
	r = testerRun(t, 0, "--uidmap", "0:1000:1", "--uidmap", "1:100000:1000", "--", "cat", "/proc/self/uid_map")
	if f := strings.Fields(r.stdout); strings.Join(f, " ") != "0 1000 1 1 100000 1000" {
		t.Errorf("--uidmap 0:1000:1 --uidmap 1:100000:1000: uid_map %q", r.stdout)
	}
	r = testerRun(t, 125, "--uidmap", "0:1000:1", "--uidmap", "1:0:1", "--", "true")
	oneLine(t, "--uidmap 1:0:1", r.stderr, "--uidmap 1:0:1", "uid 1000 may map only itself and 100000-165535")
	r = testerRun(t, 125, "--uidmap", "0:100000:1000", "--", "true")
	oneLine(t, "--uidmap 0:100000:1000", r.stderr, "--uidmap 0:100000:1000", "maps its root to uid 1000")
}

func TestRootlessRefusals(t *testing.T) {
	requireTester(t)
	r := testerRun(t, 125, "--device", "/dev/kmsg", "--", "true")
	oneLine(t, "--device", r.stderr, "--device /dev/kmsg", "needs root")
	r = testerRun(t, 125, "--cgroup-parent", "/ctop", "--", "true")
	oneLine(t, "--cgroup-parent", r.stderr, "--cgroup-parent /ctop", "outside the subtree delegated to uid 1000")
	has := delegated(t)
	t.Logf("user@%d.service delegates %q", testerUID, has)
	for _, c := range []struct{ ctl, opt, val string }{
		{"cpu", "--cpus", "0.5"}, {"cpuset", "--cpuset-cpus", "0"}, {"io", "--device-read-bps", "/dev/vda:1mb"},
	} {
		if contains(has, c.ctl) {
			continue
		}
		r = testerRun(t, 125, c.opt, c.val, "--", "true")
		oneLine(t, c.opt, r.stderr, c.opt, "the "+c.ctl+" controller is not delegated", "Delegate=cpu cpuset io memory pids", "daemon-reload")
	}
}

func TestRootlessLimits(t *testing.T) {
	requireTester(t)
	if has := delegated(t); !contains(has, "memory") || !contains(has, "pids") {
		t.Skipf("user@%d.service delegates %q, not memory and pids", testerUID, has)
	}
	// systemd removes the emptied scope's group at once, and the report
	// is then the reading taken when the kernel notified the OOM kill,
	// which a loaded machine can miss (README: under systemd): every run
	// ends with 137, and the second run must report what the first missed.
	var r run
	for try := 0; try < 2; try++ {
		r = testerRun(t, 137, "--memory", "32m", "--memory-swap", "32m", "--", "sh", "-c", "tail /dev/zero")
		if strings.Contains(r.stderr, "the OOM killer ended it at its 32 MiB memory limit") {
			break
		}
		if try == 1 {
			t.Errorf("OOM at --memory 32m, twice: %v; want the report", r)
		} else {
			t.Logf("OOM at --memory 32m: %v: no report, once", r)
		}
	}
	// sh's exit status after a refused fork is its own: any.
	r = asTester(t, "run", "--rm", "--pids-limit", "10", "--", "sh", "-c", "for i in $(seq 30); do sleep 2 & done 2>/dev/null; wait")
	if !strings.Contains(r.stderr, "failed at its pids limit of 10") {
		t.Errorf("fork loop at --pids-limit 10: %v; want the report of refused forks", r)
	}
}

// TestRootlessControl: tester lists, enters, tunes and stops its own
// sandbox, and cannot see, stop or tune root's.
func TestRootlessControl(t *testing.T) {
	requireTester(t)
	name := fmt.Sprintf("ctop-test-rl-%d", os.Getpid())
	r := asTester(t, "run", "-d", "--name", name, "--", "sleep", "300")
	if r.code != 0 {
		t.Fatalf("ctop run -d as tester: %v", r)
	}
	t.Cleanup(func() { asTester(t, "rm", "-f", name) })
	if r = asTester(t, "ls", "-a"); r.code != 0 || !strings.Contains(r.stdout, name) {
		t.Errorf("ls as tester: %v; want %s", r, name)
	}
	if r = asTester(t, "exec", name, "sh", "-c", "id -u; cat /proc/1/cmdline | tr '\\0' ' '"); r.code != 0 || !strings.HasPrefix(r.stdout, "0\nsleep 300") {
		t.Errorf("exec as tester: %v; want uid 0 beside pid 1 sleep 300", r)
	}
	// With a terminal of the sandbox's own, as the TUI's shell asks.
	if r = asTester(t, "exec", "-t", name, "tty"); r.code != 0 || !strings.HasPrefix(r.stdout, "/dev/pts/") {
		t.Errorf("exec -t as tester: %v; want a terminal of the sandbox's devpts", r)
	}
	if r = asTester(t, "exec", name, "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exec as tester of a command that exits 7: %v", r)
	}
	if r = asTester(t, "update", "--memory", "48m", "--pids-limit", "15", name); r.code != 0 {
		t.Errorf("update as tester: %v", r)
	}
	if !contains(delegated(t), "io") {
		r = asTester(t, "update", "--device-write-bps", "/dev/vda:1mb", name)
		if r.code == 0 {
			t.Errorf("update --device-write-bps without io delegated: %v", r)
		}
		oneLine(t, "update --device-write-bps", r.stderr, "--device-write-bps", "the io controller is not delegated")
	}
	// The group: a scope of tester's manager (ctop.slice/ctop-NAME.scope)
	// or, under --cgroup-manager cgroupfs, ctop/NAME in its subtree.
	var ls []lsEntry
	if r = asTester(t, "ls", "--json"); json.Unmarshal([]byte(r.stdout), &ls) != nil {
		t.Fatalf("ls --json as tester: %v", r)
	}
	i := slices.IndexFunc(ls, func(e lsEntry) bool { return e.Name == name })
	prefix := fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service/", testerUID, testerUID)
	if i < 0 || !strings.HasPrefix(ls[i].Cgroup, prefix) {
		t.Fatalf("ls --json as tester: %v; want %s in a group under %s", r, name, prefix)
	}
	group := filepath.Join(cgroupRoot, ls[i].Cgroup)
	if got := readTrim(t, filepath.Join(group, "memory.max")); got != strconv.Itoa(48<<20) {
		t.Errorf("memory.max after update = %s, want %d", got, 48<<20)
	}
	if got := readTrim(t, filepath.Join(group, "pids.max")); got != "15" {
		t.Errorf("pids.max after update = %s, want 15", got)
	}

	// Root's sandbox.
	rootName := fmt.Sprintf("ctop-test-root-%d", os.Getpid())
	if r = runCmd(t, ctopBin(t), "run", "-d", "--name", rootName, "--", "sleep", "300"); r.code != 0 {
		t.Fatalf("ctop run -d as root: %v", r)
	}
	t.Cleanup(func() { runCmd(t, ctopBin(t), "rm", "-f", rootName) })
	if r = asTester(t, "ls", "-a"); strings.Contains(r.stdout, rootName) {
		t.Errorf("tester's ls shows root's sandbox: %v", r)
	}
	for _, args := range [][]string{
		{"stop", rootName}, {"update", "--memory", "1g", rootName}, {"exec", rootName, "true"},
		{"stop", "--state-dir", "/run/ctop", rootName}, {"update", "--state-dir", "/run/ctop", "--memory", "1g", rootName},
		{"ls", "--state-dir", "/run/ctop"},
	} {
		r = asTester(t, args...)
		if r.code == 0 {
			t.Errorf("ctop %s as tester: %v; want a refusal", strings.Join(args, " "), r)
			continue
		}
		oneLine(t, "ctop "+strings.Join(args, " "), r.stderr)
	}
	var rootLs []lsEntry
	if r = runCmd(t, ctopBin(t), "ls", "--json"); json.Unmarshal([]byte(r.stdout), &rootLs) != nil {
		t.Fatalf("ls --json as root: %v", r)
	}
	j := slices.IndexFunc(rootLs, func(e lsEntry) bool { return e.Name == rootName })
	if j < 0 {
		t.Fatalf("root's ls --json lacks %s: %v", rootName, r)
	}
	if got := readTrim(t, filepath.Join(cgroupRoot, rootLs[j].Cgroup, "memory.max")); got != "max" {
		t.Errorf("root's sandbox memory.max = %s after tester's update, want max", got)
	}
	if r = runCmd(t, ctopBin(t), "ls", "-a"); !strings.Contains(r.stdout, rootName) {
		t.Errorf("root's sandbox is gone after tester's stop: %v", r)
	}

	if r = asTester(t, "stop", name); r.code != 0 {
		t.Errorf("stop as tester: %v", r)
	}
	if r = asTester(t, "rm", name); r.code != 0 {
		t.Errorf("rm as tester: %v", r)
	}
	if _, err := os.Stat(group); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the sandbox's group after rm: %v", err)
	}
}

// TestRootlessAttacks: root in a rootless sandbox is tester on the host,
// inside its own cgroup and its mapped ids.
func TestRootlessAttacks(t *testing.T) {
	requireTester(t)
	target := "/etc/ctop-test-rootless-target"
	if err := os.WriteFile(target, []byte("root's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(target) })
	// Each attempt prints whether it succeeded; none may. The strongest
	// such sandbox: the host's files writable, CAP_SYS_ADMIN in its user
	// namespace and no seccomp filter, so that it may mount the cgroup
	// filesystem and make user namespaces.
	script := `
try() { if sh -c "$2" 2>/dev/null; then echo "$1: succeeded"; else echo "$1: refused"; fi; }
try write-host-file "echo x >> ` + target + `"
try chown-host-file "chown 0:0 ` + target + `"
try write-shadow "echo x >> /etc/shadow"
try raise-memory "echo max > /sys/fs/cgroup/memory.max"
try leave-cgroup "echo $$ > /sys/fs/cgroup/cgroup.procs"
mkdir -p /tmp/cg && echo "info: mount cgroup2: $(mount -t cgroup2 none /tmp/cg 2>&1 | head -n1; grep -q ' /tmp/cg cgroup2 ' /proc/mounts && echo mounted)"
try raise-memory-mounted "test -f /tmp/cg/cgroup.procs && echo max > /tmp/cg/memory.max"
try write-uid-map "echo '0 0 1' > /proc/self/uid_map"
unshare -U sleep 5 & child=$!
sleep 0.3
echo "info: nested user namespace: $(readlink /proc/$child/ns/user) beside $(readlink /proc/self/ns/user)"
try map-unmapped-id "echo '0 70000 1' > /proc/$child/uid_map"
kill $child 2>/dev/null
echo "info: memory.max=$(cat /tmp/cg/memory.max 2>/dev/null || echo unmounted) cgroup=$(cat /proc/self/cgroup)"
`
	r := testerRun(t, 0, "--host-root", "rw", "--tmpfs", "/tmp", "--memory", "32m", "--cap-add", "SYS_ADMIN",
		"--security-opt", "seccomp=unconfined", "--", "sh", "-c", script)
	t.Logf("attacks:\n%s", r.stdout)
	n := 0
	for _, l := range strings.Split(r.stdout, "\n") {
		switch {
		case strings.HasPrefix(l, "info: memory.max="):
			if l != "info: memory.max=33554432 cgroup=0::/" && l != "info: memory.max=unmounted cgroup=0::/" {
				t.Errorf("after the attacks: %q; want memory.max 33554432 (where mounted) and cgroup 0::/", l)
			}
		case strings.HasPrefix(l, "info:"):
		case strings.HasSuffix(l, ": refused"):
			n++
		default:
			t.Errorf("attack %q", l)
		}
	}
	if n != 8 {
		t.Errorf("%d attempts refused, want 8: %v", n, r)
	}
	if b, _ := os.ReadFile(target); string(b) != "root's\n" {
		t.Errorf("%s = %q after the attacks", target, b)
	}
}

// TestRootlessMapFailure: a newuidmap that fails ends the start in one
// line naming the command and what it said, and leaves nothing behind.
func TestRootlessMapFailure(t *testing.T) {
	requireTester(t)
	bin, err := os.MkdirTemp("", "ctop-test-fakemap-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	fake := "#!/bin/sh\necho \"newuidmap: uid range [1-65537) -> [100000-165536) not allowed\" >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "newuidmap"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("ctop-test-map-%d", os.Getpid())
	r := runCmd(t, "runuser", "-u", testerName, "--", "env", fmt.Sprintf("XDG_RUNTIME_DIR=/run/user/%d", testerUID),
		"PATH="+bin+":/usr/local/bin:/usr/bin:/bin", "systemd-run", "--user", "--scope", "--quiet", "--",
		ctopBin(t), "run", "--rm", "--name", name, "--memory", "32m", "--", "true")
	if r.code != 125 {
		t.Fatalf("start with a failing newuidmap: %v; want exit 125", r)
	}
	oneLine(t, "failing newuidmap", r.stderr, "newuidmap ", " 0 1000 1 1 100000 65536: newuidmap: uid range [1-65537) -> [100000-165536) not allowed")
	user := filepath.Join(cgroupRoot, fmt.Sprintf("user.slice/user-%d.slice/user@%d.service/ctop", testerUID, testerUID))
	if _, err := os.Stat(filepath.Join(user, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the sandbox's group after the failed start: %v", err)
	}
	state := fmt.Sprintf("/run/user/%d/ctop", testerUID)
	for _, p := range []string{filepath.Join(state, name+".json"), filepath.Join(state, name)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after the failed start: %v", p, err)
		}
	}
	// No process of the sandbox is left: its init was in no group but its
	// own, and none of tester's processes runs its name.
	if out, _ := exec.Command("pgrep", "-u", strconv.Itoa(testerUID), "-f", "ctop-init "+name).Output(); len(out) > 0 {
		t.Errorf("the sandbox's init still runs: %s", out)
	}
}

// TestRootlessTUI: the TUI of a user who is not root, started outside any
// subtree delegated to them (here from root's service, as from a login
// session's scope), offers the actions that work through the user's own
// systemd manager instead of opening read-only.
func TestRootlessTUI(t *testing.T) {
	requireTester(t)
	socket := fmt.Sprintf("ctop-rootless-%d", os.Getpid())
	tmux := func(args ...string) (string, error) {
		a := append([]string{"-u", testerName, "--", "env", fmt.Sprintf("XDG_RUNTIME_DIR=/run/user/%d", testerUID),
			"HOME=/home/" + testerName, "tmux", "-u", "-L", socket}, args...)
		out, err := exec.Command("runuser", a...).CombinedOutput()
		return string(out), err
	}
	if out, err := tmux("new-session", "-d", "-s", "ui", "-x", "160", "-y", "40", ctopBin(t)); err != nil {
		t.Fatalf("tmux new-session as %s: %v: %s", testerName, err, out)
	}
	t.Cleanup(func() { _, _ = tmux("kill-server") })
	var s string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		s, _ = tmux("capture-pane", "-p", "-t", "ui")
		if strings.Contains(s, "Cgroups") {
			break
		}
	}
	if !strings.Contains(s, "Cgroups") {
		t.Fatalf("the TUI never drew its tabs; last screen:\n%s", s)
	}
	if strings.Contains(s, "read-only") {
		t.Errorf("the TUI of %s opened read-only though its user manager makes sandboxes:\n%s", testerName, s)
	}
}
