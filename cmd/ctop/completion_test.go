package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctop-dev/ctop/cgroup"
)

// complete runs cobra's hidden __complete command as the shell scripts
// do and returns the candidates, less the directive line.
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	out, code, err := ctop(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %q: exit %d, %v", args, code, err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !strings.HasPrefix(l, ":") && !strings.HasPrefix(l, "Completion ended") {
			got = append(got, l)
		}
	}
	return got
}

func TestCompletion(t *testing.T) {
	state := t.TempDir()
	for _, n := range []string{"web", "db", "worker"} {
		if err := os.WriteFile(filepath.Join(state, n+".json"), []byte(`{"name":"`+n+`","status":"running"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"stop", "--state-dir", state, ""}, []string{"db", "web", "worker"}},
		{[]string{"kill", "--state-dir", state, "w"}, []string{"web", "worker"}},
		// Names already given are not offered again.
		{[]string{"rm", "--state-dir", state, "web", "w"}, []string{"worker"}},
		{[]string{"wait", "--state-dir", state, "d"}, []string{"db"}},
		{[]string{"pause", "--state-dir", state, "d"}, []string{"db"}},
		{[]string{"unpause", "--state-dir", state, "d"}, []string{"db"}},
		{[]string{"logs", "--state-dir", state, "d"}, []string{"db"}},
		{[]string{"exec", "--state-dir", state, "d"}, []string{"db"}},
		{[]string{"update", "--state-dir", state, "d"}, []string{"db"}},
		// One name only: then the command's own arguments.
		{[]string{"logs", "--state-dir", state, "db", ""}, nil},
		{[]string{"ns", "--type", "u"}, []string{"user", "uts"}},
		{[]string{"run", "--ns", "pid,u"}, []string{"pid,user", "pid,uts"}},
		{[]string{"run", "--ns", "pid,mnt,"}, []string{"pid,mnt,cgroup", "pid,mnt,ipc", "pid,mnt,net", "pid,mnt,time", "pid,mnt,user", "pid,mnt,uts"}},
		{[]string{"run", "--ns", "n"}, []string{"net", "none"}},
		{[]string{"run", "--network", ""}, []string{"none", "host"}},
		{[]string{"kill", "-s", "US"}, []string{"USR1", "USR2"}},
		{[]string{"stop", "--signal", "ki"}, []string{"KILL"}},
		{[]string{"run", "--stop-signal", "QU"}, []string{"QUIT"}},
	} {
		got := complete(t, tc.args...)
		if tc.args[0] == "stop" || tc.args[0] == "kill" {
			slices.Sort(got)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("complete %q (-want +got):\n%s", tc.args, d)
		}
	}
	// Live: whatever the host has, candidates are cgroup paths.
	for _, p := range complete(t, "cgroups", "/") {
		if !strings.HasPrefix(p, "/") || strings.Count(p, "/") != 1 {
			t.Errorf("complete cgroups /: %q is not a group directly under /", p)
		}
	}
}

func TestCgroupCandidates(t *testing.T) {
	f, err := cgroup.Open("../../cgroup/testdata/v2")
	if err != nil {
		t.Fatal(err)
	}
	for to, want := range map[string][]string{
		"/":              {"/ctopfixture"},
		"ctop":           {"/ctopfixture"},
		"/ctopfixture/":  {"/ctopfixture/forky", "/ctopfixture/idle", "/ctopfixture/nested", "/ctopfixture/oom", "/ctopfixture/web"},
		"/ctopfixture/w": {"/ctopfixture/web"},
		"/nope/":         nil,
	} {
		if d := cmp.Diff(want, cgroupCandidates(f, to)); d != "" {
			t.Errorf("cgroupCandidates(%q) (-want +got):\n%s", to, d)
		}
	}
}
