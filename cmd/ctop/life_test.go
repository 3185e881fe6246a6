package main

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
)

// TestSandboxLifeCommands drives a detached sandbox's life after exit as a
// docker user would: run -d, wait, logs, ls -a, rm, and the name conflict.
func TestSandboxLifeCommands(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups and namespaces")
	}
	f, parent, state := livePlace(t, "life")
	place := []string{"--cgroup-parent", parent, "--state-dir", state}
	cmd := func(args ...string) (string, int, error) {
		return ctop(t, append(args[:1:1], append(place, args[1:]...)...)...)
	}
	if out, code, err := cmd("run", "-d", "--name", "s", "--", "sh", "-c", "echo hello; exit 3"); code != 0 || strings.TrimSpace(out) != "s" {
		t.Fatalf("run -d: %d %q %v", code, out, err)
	}
	if out, code, err := cmd("wait", "s"); code != 0 || strings.TrimSpace(out) != "3" {
		t.Errorf("wait: exit %d, %q, %v; want 3 printed and exit 0", code, out, err)
	}
	if out, _, err := cmd("logs", "s"); out != "hello\n" {
		t.Errorf("logs: %q, %v", out, err)
	}
	if out, _, _ := cmd("ls"); strings.Contains(out, "\ns ") {
		t.Errorf("plain ls lists an exited sandbox:\n%s", out)
	}
	if out, _, _ := cmd("ls", "-a"); !strings.Contains(out, "Exited (3)") {
		t.Errorf("ls -a:\n%s", out)
	}
	out, _, err := cmd("ls", "-a", "--json")
	var recs []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &recs) != nil || len(recs) != 1 {
		t.Fatalf("ls -a --json: %q, %v", out, err)
	}
	if r := recs[0]; r["status"] != "exited" || r["exit_code"] != 3.0 || r["finished_at"] == nil {
		t.Errorf("ls -a --json: %v", r)
	}
	if _, code, err := cmd("run", "-d", "--name", "s", "--", "true"); code != 125 || err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("a second sandbox named s: exit %d, %v; want 125 and a conflict", code, err)
	}
	if out, code, err := cmd("rm", "s"); code != 0 || strings.TrimSpace(out) != "s" {
		t.Errorf("rm: exit %d, %q, %v", code, out, err)
	}
	// Running: ls shows it Up, with JSON nulls for what is not known yet;
	// rm refuses it without -f.
	if _, code, err := cmd("run", "-d", "--rm", "--stop-timeout", "1", "--name", "up", "--", "sleep", "60"); code != 0 {
		t.Fatalf("run -d --rm: %d %v", code, err)
	}
	if out, _, _ := cmd("ls"); !strings.Contains(out, "Up ") {
		t.Errorf("ls of a running sandbox:\n%s", out)
	}
	out, _, _ = cmd("ls", "--json")
	if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) != 1 || recs[0]["status"] != "running" ||
		recs[0]["exit_code"] != nil || recs[0]["reason"] != nil {
		t.Errorf("ls --json of a running sandbox: %v %v", recs, err)
	}
	if _, code, err := cmd("rm", "up"); code != 1 || err == nil || !strings.Contains(err.Error(), "stop it first or use -f") {
		t.Errorf("rm of a running sandbox: exit %d, %v", code, err)
	}
	if out, code, err := cmd("stop", "up"); code != 0 || strings.TrimSpace(out) != "up" {
		t.Errorf("stop: exit %d, %q, %v", code, out, err)
	}
	// --rm: nothing stays.
	if _, err := cgroup.Load(f, parent); !errors.Is(err, cgroup.ErrNotFound) {
		t.Errorf("parent group remains: %v", err)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Errorf("state remains: %v", ents)
	}
}

func TestLifeCommandsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--stop-signal", "NOPE", "--", "true"}, "--stop-signal"},
		{[]string{"run", "--stop-timeout", "-1", "--", "true"}, "--stop-timeout -1"},
		{[]string{"stop", "-s", "99", "x"}, "--signal"},
		{[]string{"stop", "-t", "-2", "x"}, "--time -2"},
		{[]string{"kill", "-s", "BOGUS", "x"}, "--signal"},
		{[]string{"logs", "--tail", "x", "y"}, "--tail"},
		{[]string{"logs"}, "logs"},
		{[]string{"wait"}, "wait"},
		{[]string{"rm"}, "rm"},
		{[]string{"pause"}, "pause"},
	} {
		_, code, err := ctop(t, tc.args...)
		if code != 125 || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ctop %s: exit %d, %v; want 125 and an error naming %q", strings.Join(tc.args, " "), code, err, tc.want)
		}
	}
}
