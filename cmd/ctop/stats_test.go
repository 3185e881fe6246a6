package main

import (
	"os"
	"strings"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
)

// TestStatsSandbox reads a sandbox held to a fifth of a CPU and 64 MiB
// while a busy loop runs in it: stats must see about 20% CPU, the memory
// limit, and throttling.
func TestStatsSandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups and namespaces")
	}
	_, parent, state := livePlace(t, "stats")
	place := []string{"--cgroup-parent", parent, "--state-dir", state}
	cmd := func(args ...string) (string, int, error) {
		return ctop(t, append(args[:1:1], append(place, args[1:]...)...)...)
	}
	// Before livePlace's check (cleanups run last first).
	t.Cleanup(func() { _, _, _ = cmd("stop", "-t", "0", "busy") })
	if out, code, err := cmd("run", "-d", "--rm", "--name", "busy", "--cpus", "0.2", "--memory", "64m",
		"--", "sh", "-c", "while :; do :; done"); code != 0 {
		t.Fatalf("run -d: exit %d, %q, %v", code, out, err)
	}
	out, code, err := cmd("stats", "--no-stream", "--json", "busy")
	if code != 0 {
		t.Fatalf("stats: exit %d, %q, %v", code, out, err)
	}
	var doc schemaStats
	checkSchema(t, "stats --json of a sandbox", []byte(out), &doc)
	if len(doc.Stats) != 1 {
		t.Fatalf("stats --json busy: %s", out)
	}
	s := doc.Stats[0]
	if s.Name != "busy" || s.Cgroup != parent+"/busy" {
		t.Errorf("row %q of %s, want busy of %s/busy", s.Name, s.Cgroup, parent)
	}
	if !s.CPU.OK || s.CPU.V < 10 || s.CPU.V > 30 {
		t.Errorf("cpu_percent %+v, want 10..30 under --cpus 0.2", s.CPU)
	}
	if s.MemoryLimit != cgroup.LimitOf(64<<20) {
		t.Errorf("memory_limit %+v, want 67108864", s.MemoryLimit)
	}
	if !s.Throttled.OK || s.Throttled.V <= 0 {
		t.Errorf("throttled_percent %+v, want > 0 for a busy loop over its quota", s.Throttled)
	}
	if !s.Pids.OK || s.Pids.V == 0 || !s.MemoryPercent.OK {
		t.Errorf("pids %+v, memory_percent %+v: want known", s.Pids, s.MemoryPercent)
	}
	// With no name: every running sandbox, as a table.
	out, code, err = cmd("stats", "--no-stream", "--interval", "200ms")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "busy ") || !strings.Contains(lines[1], "/ 64.0M") {
		t.Errorf("stats --no-stream: exit %d, %v:\n%s", code, err, out)
	}
}

func TestStatsBadInput(t *testing.T) {
	state := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"stats", "--no-stream", "--state-dir", state, "ctop-no-such-thing"}, 1, "no such sandbox, container, unit or cgroup: ctop-no-such-thing"},
		{[]string{"stats", "--interval", "0", "x"}, 125, "--interval 0s"},
		{[]string{"stats", "--interval", "-1s"}, 125, "--interval -1s"},
		{[]string{"stats", "--interval", "often"}, 125, "--interval"},
	} {
		_, code, err := ctop(t, tc.args...)
		if code != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ctop %s: exit %d, %v; want %d and one line naming %q", strings.Join(tc.args, " "), code, err, tc.code, tc.want)
		}
	}
}
