package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

// This test binary acts as ctop's re-executed sandbox child as ctop does:
// main.go's blank import of sandbox/reexec is compiled into it.

// ctop runs the command line in-process and returns its stdout and exit code.
func ctop(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return out.String(), 0, nil
	}
	return out.String(), exitCode(err), err
}

func TestSandboxCommandsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "no command"},
		{[]string{"run", "--bogus", "--", "true"}, "--bogus"},
		{[]string{"run", "--memory", "32x", "--", "true"}, "--memory"},
		{[]string{"run", "--memory", "1m", "--", "true"}, "minimum is 6m"},
		{[]string{"run", "--memory-swap", "64m", "--", "true"}, "--memory-swap"},
		{[]string{"run", "--memory", "64m", "--memory-swap", "32m", "--", "true"}, "--memory-swap 32m"},
		{[]string{"run", "--memory", "64m", "--memory-reservation", "128m", "--", "true"}, "--memory-reservation"},
		{[]string{"run", "--cpus", "abc", "--", "true"}, "--cpus"},
		{[]string{"run", "--cpus", "-1", "--", "true"}, "--cpus"},
		{[]string{"run", "--cpus", "100000", "--", "true"}, "--cpus"},
		{[]string{"run", "--cpu-shares", "1", "--", "true"}, "--cpu-shares"},
		{[]string{"run", "--cpuset-cpus", "1-0", "--", "true"}, "--cpuset-cpus"},
		{[]string{"run", "--pids-limit", "-5", "--", "true"}, "--pids-limit"},
		{[]string{"run", "--pids-limit", "ten", "--", "true"}, "pids-limit"},
		{[]string{"run", "--device-write-bps", "/dev/null:1mb", "--", "true"}, "not a block device"},
		{[]string{"run", "--device-write-bps", "/dev/vda", "--", "true"}, "--device-write-bps"},
		{[]string{"run", "--device-read-iops", "/no/such:10", "--", "true"}, "--device-read-iops"},
		{[]string{"run", "--ns", "pid,nope", "--", "true"}, "--ns"},
		{[]string{"run", "--network", "bridge", "--", "true"}, "--network"},
		{[]string{"run", "--name", "a/b", "--", "true"}, "--name"},
		{[]string{"run", "--name", "..", "--", "true"}, "--name"},
		{[]string{"run", "--user", "alice", "--", "true"}, "--user"},
		{[]string{"run", "-v", "/no/such:/x", "--", "true"}, "-v"},
		{[]string{"run", "--tmpfs", "rel", "--", "true"}, "--tmpfs"},
		{[]string{"run", "--security-opt", "apparmor=unconfined", "--", "true"}, "--security-opt apparmor=unconfined"},
		{[]string{"run", "--security-opt", "seccomp=/no/such.json", "--", "true"}, "--security-opt seccomp=/no/such.json"},
		{[]string{"run", "--security-opt", "no-new-privileges=maybe", "--", "true"}, "no-new-privileges=maybe"},
		{[]string{"run", "--cap-add", "NET_FLY", "--", "true"}, "--cap-add NET_FLY: unknown capability"},
		{[]string{"run", "--cap-drop", "bogus", "--", "true"}, "--cap-drop bogus: unknown capability"},
		{[]string{"run", "--device", "/no/such", "--", "true"}, "--device /no/such: "},
		{[]string{"run", "--device", "/etc/passwd", "--", "true"}, "not a device node"},
		{[]string{"run", "--device", "/dev/null:rel", "--", "true"}, "--device /dev/null:rel"},
		{[]string{"update", "--cap-add", "SYS_ADMIN", "web"}, "--cap-add"},
		// Holes: (uid_t)-1 would keep root; destinations over the root or
		// what the sandbox mounts itself; ambiguous --ns lists; limits
		// the sandbox's root could rewrite.
		{[]string{"run", "--user", "4294967295", "--", "id"}, "--user 4294967295: "},
		{[]string{"run", "--user", "1000:4294967295", "--", "id"}, "--user 1000:4294967295: "},
		{[]string{"run", "-v", "/tmp:/", "--", "true"}, "--volume /tmp:/: "},
		{[]string{"run", "--tmpfs", "/..", "--", "true"}, "--tmpfs /..: "},
		{[]string{"run", "-v", "/tmp:/proc", "--", "true"}, "--volume /tmp:/proc: "},
		{[]string{"run", "--ns", "", "--", "true"}, `--ns "": `},
		{[]string{"run", "--ns", "pid,pid", "--", "true"}, "--ns pid,pid: "},
		{[]string{"run", "--ns", "pid", "--memory", "64m", "--", "true"}, "add mnt to --ns"},
		{[]string{"exec", "--user", "4294967295", "web", "--", "id"}, "--user 4294967295: "},
		{[]string{"run", "--uidmap", "0:4294967294:2", "--", "id"}, "--uidmap 0:4294967294:2: "},
		{[]string{"run", "--uidmap", "0:100000:65536", "--", "id"}, "add user to --ns"},
		{[]string{"run", "--ns", "user,mnt", "--uidmap", "0:100000:10", "--uidmap", "5:100005:10", "--", "id"}, "overlaps"},
		{[]string{"update", "web"}, "no limit"},
		{[]string{"update", "--memory", "1x", "web"}, "--memory"},
		{[]string{"update", "--cpus", "0.5"}, "update"},
		{[]string{"exec", "web"}, "exec"},
		{[]string{"stop"}, "stop"},
		{[]string{"ls", "--bogus"}, "--bogus"},
	} {
		_, code, err := ctop(t, tc.args...)
		if code != 125 || err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ctop %s: exit %d, %v; want 125 and one line naming %q", strings.Join(tc.args, " "), code, err, tc.want)
		}
	}
}

// TestSandboxCommandsLive drives run, ls, exec, update and stop as a user
// would, in a parent group and state directory of its own.
func TestSandboxCommandsLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups and namespaces")
	}
	f, parent, state := livePlace(t, "cli")
	place := []string{"--cgroup-parent", parent, "--state-dir", state}
	run := func(args ...string) (string, int, error) {
		return ctop(t, append(append([]string{"run"}, place...), args...)...)
	}
	if _, code, err := run("--", "sh", "-c", "exit 3"); code != 3 || !errors.As(err, new(quietExit)) {
		t.Errorf("run sh -c 'exit 3': exit %d, %v", code, err)
	}
	if _, code, _ := run("--", "ctop-no-such-command"); code != 127 {
		t.Errorf("run of a missing command: exit %d, want 127", code)
	}
	// A value only the kernel can refuse: reported against the flag, and
	// nothing is left behind.
	if _, code, err := run("--cpuset-cpus", "1023", "--", "true"); code != 125 || err == nil || !strings.HasPrefix(err.Error(), "--cpuset-cpus 1023: ") {
		t.Errorf("run --cpuset-cpus 1023: exit %d, %v; want 125 naming the flag", code, err)
	}
	if _, err := cgroup.Load(f, parent); !errors.Is(err, cgroup.ErrNotFound) {
		t.Errorf("a refused limit left %s behind: %v", parent, err)
	}
	if _, code, err := run("--memory", "16m", "--", "true"); code != 0 {
		t.Errorf("run true: exit %d, %v", code, err)
	}
	out, code, err := run("-d", "--name", "cli", "--cpus", "0.5", "--pids-limit", "20", "--", "sleep", "60")
	if code != 0 || strings.TrimSpace(out) != "cli" {
		t.Fatalf("run -d: exit %d, %q, %v", code, out, err)
	}
	out, _, err = ctop(t, "ls", "--json", "--state-dir", state, "--cgroup-parent", parent)
	var states []struct {
		sandbox.State
		Limits map[string]any `json:"limits"`
	}
	if err != nil || json.Unmarshal([]byte(out), &states) != nil || len(states) != 1 || states[0].Name != "cli" {
		t.Fatalf("ls --json: %q, %v", out, err)
	}
	if l := states[0].Limits; l["cpus"] != 0.5 || l["pids_limit"] != 20.0 || l["memory"] != "max" {
		t.Errorf("ls --json limits: %v, want cpus 0.5, pids_limit 20, memory max", l)
	}
	if _, code, err := ctop(t, "exec", "--state-dir", state, "cli", "--", "sh", "-c", "exit 4"); code != 4 {
		t.Errorf("exec: exit %d, %v", code, err)
	}
	if _, code, err := ctop(t, "update", "--state-dir", state, "--cpus", "0.25", "--pids-limit", "30", "cli"); code != 0 {
		t.Fatalf("update: exit %d, %v", code, err)
	}
	g, err := f.Read(parent + "/cli")
	if err != nil {
		t.Fatal(err)
	}
	if g.Limits.CPU.Cores() != 0.25 || g.Limits.Pids != cgroup.LimitOf(30) {
		t.Errorf("after update: %v CPUs, pids %v", g.Limits.CPU.Cores(), g.Limits.Pids)
	}
	// update works on any group by path too.
	if _, code, err := ctop(t, "update", "--memory", "100m", parent+"/cli"); code != 0 {
		t.Errorf("update by path: exit %d, %v", code, err)
	}
	if g, _ := f.Read(parent + "/cli"); g.Limits.Memory.Max != cgroup.LimitOf(100<<20) {
		t.Errorf("memory after update by path: %v", g.Limits.Memory.Max)
	}
	// ls shows the limits in force now, not those of the start.
	if out, _, _ := ctop(t, "ls", "--state-dir", state, "--cgroup-parent", parent); !strings.Contains(out, "--cpus 0.25") ||
		!strings.Contains(out, "--memory 100MiB") || !strings.Contains(out, "--pids-limit 30") {
		t.Errorf("ls after update:\n%s", out)
	}
	if _, code, err := ctop(t, "stop", "-t", "1", "--state-dir", state, "cli"); code != 0 {
		t.Fatalf("stop: exit %d, %v", code, err)
	}
	// A detached sandbox's record stays until rm.
	if _, code, err := ctop(t, "rm", "--state-dir", state, "cli"); code != 0 {
		t.Fatalf("rm: exit %d, %v", code, err)
	}
	if _, err := cgroup.Load(f, parent); !errors.Is(err, cgroup.ErrNotFound) {
		t.Errorf("the sandboxes' parent group remains after the last one stopped: %v", err)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Errorf("state remains: %v", ents)
	}
}

func TestOptionFlags(t *testing.T) {
	for cmd, which := range map[string]sandbox.Commands{"run": sandbox.CmdRun, "update": sandbox.CmdUpdate} {
		c, _, err := newRootCmd().Find([]string{cmd})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range sandbox.Options() {
			f := c.Flags().Lookup(o.Name)
			switch {
			case o.Commands&which == 0:
				if f != nil {
					t.Errorf("%s takes --%s", cmd, o.Name)
				}
			case f == nil:
				t.Errorf("%s lacks --%s", cmd, o.Name)
			case f.Usage == "" || f.Shorthand != o.Short:
				t.Errorf("%s --%s: help %q, shorthand %q", cmd, o.Name, f.Usage, f.Shorthand)
			}
		}
	}
}

// --cpu-period and --cpu-quota reach the kernel's files, as run and update
// write them, and ls reads them back.
func TestRunCPUPeriodQuota(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups and namespaces")
	}
	f, err := cgroup.Open("/")
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	parent := fmt.Sprintf("/ctop-test-%d-cpuq", os.Getpid())
	state := filepath.Join(t.TempDir(), "state")
	place := []string{"--cgroup-parent", parent, "--state-dir", state}
	t.Cleanup(func() {
		_, _, _ = ctop(t, "stop", "--state-dir", state, "cq")
		if m, err := cgroup.Load(f, parent); err == nil {
			_ = m.Kill()
			_ = m.Delete()
		}
	})
	args := append(append([]string{"run"}, place...), "-d", "--name", "cq", "--cpu-period", "50000", "--cpu-quota", "25000", "--", "sleep", "60")
	if out, code, err := ctop(t, args...); code != 0 {
		t.Fatalf("run: exit %d, %q, %v", code, out, err)
	}
	m, err := cgroup.Load(f, parent+"/cq")
	if err != nil {
		t.Fatal(err)
	}
	// The files the table names for the layout, read as the kernel has them.
	read := func() string {
		quota, period := sandbox.Lookup("cpu-quota").Files, sandbox.Lookup("cpu-period").Files
		dir, ok := m.Dir("cpu")
		names := append(quota.V1, period.V1...)
		if f.Mode() == cgroup.ModeUnified {
			dir, ok = m.Dir("")
			names = quota.V2
		}
		if !ok {
			t.Fatal("no cpu directory")
		}
		var vals []string
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			vals = append(vals, strings.TrimSpace(string(b)))
		}
		return strings.Join(vals, " ")
	}
	if got := read(); got != "25000 50000" {
		t.Errorf("after run: quota and period %q, want 25000 50000", got)
	}
	if out, _, _ := ctop(t, "ls", "--state-dir", state, "--cgroup-parent", parent); !strings.Contains(out, "--cpu-period 50000 --cpu-quota 25000") {
		t.Errorf("ls:\n%s", out)
	}
	if _, code, err := ctop(t, "update", "--state-dir", state, "--cpu-quota", "-1", "cq"); code != 0 {
		t.Fatalf("update: exit %d, %v", code, err)
	}
	want := "-1 50000"
	if f.Mode() == cgroup.ModeUnified {
		want = "max 50000"
	}
	if got := read(); got != want {
		t.Errorf("after update --cpu-quota -1: %q, want %q", got, want)
	}
	if _, code, err := ctop(t, "run", "--cpus", "0.5", "--cpu-period", "50000", "--", "true"); code != 125 || !strings.Contains(err.Error(), "conflicting options") {
		t.Errorf("--cpus with --cpu-period: exit %d, %v", code, err)
	}
}

// livePlace is a root test's own parent group and state directory for
// the sandboxes it starts through the CLI: ctop-test-PID-NAME, checked
// and removed at the end (a group left behind is an error, and killed).
// It skips without cgroups.
func livePlace(t *testing.T, name string) (f *cgroup.FS, parent, state string) {
	t.Helper()
	f, err := cgroup.Open("/")
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	parent = fmt.Sprintf("/ctop-test-%d-%s", os.Getpid(), name)
	state = filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() {
		if m, err := cgroup.Load(f, parent); err == nil {
			t.Errorf("cleanup: %s was left behind", parent)
			if err := m.Kill(); err != nil {
				t.Error(err)
			}
			if err := m.Delete(); err != nil {
				t.Error(err)
			}
		}
	})
	return f, parent, state
}
