package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/sandbox"
)

// runSpec parses a run command line as ctop run does, without running it.
func runSpec(t *testing.T, args ...string) (sandbox.Run, error) {
	t.Helper()
	c, _, err := newRootCmd().Find([]string{"run"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ParseFlags(args); err != nil {
		return sandbox.Run{}, err
	}
	var o runOptions
	return buildSpec(c.Flags(), &o, c.Flags().Args())
}

// TestDockerRunHabits: docker run's -e KEY, --env-file, --label, -c and
// --init reach the spec.
func TestDockerRunHabits(t *testing.T) {
	t.Setenv("CTOP_TEST_COPIED", "from ctop")
	os.Unsetenv("CTOP_TEST_ABSENT")
	envFile := filepath.Join(t.TempDir(), "app.env")
	if err := os.WriteFile(envFile, []byte("# settings\nFROM_FILE=1\nSHADOWED=file\nCTOP_TEST_COPIED\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := runSpec(t, "--env-file", envFile, "-e", "SHADOWED=flag", "-e", "CTOP_TEST_COPIED", "-e", "CTOP_TEST_ABSENT",
		"--label", "team=web", "-l", "tier", "-c", "512", "--init", "--", "true")
	if err != nil {
		t.Fatal(err)
	}
	s := r.Spec
	// The file first, then -e: a later entry of a key wins.
	if want := []string{"FROM_FILE=1", "SHADOWED=file", "CTOP_TEST_COPIED=from ctop", "SHADOWED=flag", "CTOP_TEST_COPIED=from ctop"}; !slices.Equal(s.Env, want) {
		t.Errorf("env %q, want %q", s.Env, want)
	}
	if want := map[string]string{"team": "web", "tier": ""}; fmt.Sprint(s.Labels) != fmt.Sprint(want) {
		t.Errorf("labels %v, want %v", s.Labels, want)
	}
	if s.Resources.CPUShares == nil || *s.Resources.CPUShares != 512 {
		t.Errorf("-c 512: cpu shares %v", s.Resources.CPUShares)
	}
	if !s.Init {
		t.Error("--init not set")
	}
	if _, err := runSpec(t, "--env-file", "/no/such/file", "--", "true"); err == nil || !strings.HasPrefix(err.Error(), "--env-file /no/such/file: ") {
		t.Errorf("--env-file of a missing file: %v", err)
	}
	if _, err := runSpec(t, "--label", "=x", "--", "true"); err == nil || !strings.HasPrefix(err.Error(), "--label =x: ") {
		t.Errorf("--label =x: %v", err)
	}
}

// TestLabelsAndShares: a label shows in ls --json and selects in ls
// --filter; -c writes the group's cpu shares (v2: its weight).
func TestLabelsAndShares(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups and namespaces")
	}
	f, err := cgroup.Open("/")
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	parent := fmt.Sprintf("/ctop-test-%d-label", os.Getpid())
	state := filepath.Join(t.TempDir(), "state")
	place := []string{"--state-dir", state, "--cgroup-parent", parent}
	t.Cleanup(func() {
		_, _, _ = ctop(t, "stop", "--state-dir", state, "-t", "0", "lab")
		if m, err := cgroup.Load(f, parent); err == nil {
			_ = m.Kill()
			_ = m.Delete()
		}
	})
	args := append(append([]string{"run"}, place...), "-d", "--name", "lab", "--label", "team=web", "-c", "512", "--", "sleep", "60")
	if out, code, err := ctop(t, args...); code != 0 {
		t.Fatalf("run: exit %d, %q, %v", code, out, err)
	}
	m, err := cgroup.Load(f, parent+"/lab")
	if err != nil {
		t.Fatal(err)
	}
	file, want := "cpu.shares", "512"
	dir, _ := m.Dir("cpu")
	if f.Mode() == cgroup.ModeUnified {
		dir, _ = m.Dir("")
		file, want = "cpu.weight", "59" // 512 as runc since 1.3 converts it (cgroup's sharesToWeight)
	}
	if b, err := os.ReadFile(filepath.Join(dir, file)); err != nil || strings.TrimSpace(string(b)) != want {
		t.Errorf("-c 512: %s is %q (%v), want %s", file, b, err, want)
	}
	ls := func(filter ...string) []map[string]any {
		args := append([]string{"ls", "--json"}, place...)
		for _, f := range filter {
			args = append(args, "--filter", f)
		}
		out, code, err := ctop(t, args...)
		if code != 0 {
			t.Fatalf("ls: exit %d, %v", code, err)
		}
		checkSchema(t, "ls --json of a running sandbox", []byte(out), &schemaLs{})
		var v []map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("ls --json: %v: %s", err, out)
		}
		return v
	}
	all := ls()
	if len(all) != 1 || fmt.Sprint(all[0]["labels"]) != "map[team:web]" {
		t.Fatalf("ls --json: %v, want one sandbox with labels team=web", all)
	}
	if l, _ := all[0]["limits"].(map[string]any); l["cpu_shares"] != float64(512) && f.Mode() != cgroup.ModeUnified {
		t.Errorf("ls --json limits: %v, want cpu_shares 512", l)
	}
	for filter, n := range map[string]int{"label=team": 1, "label=team=web": 1, "label=team=db": 0, "label=owner": 0} {
		if got := ls(filter); len(got) != n {
			t.Errorf("ls --filter %s: %d sandboxes, want %d", filter, len(got), n)
		}
	}
	if _, code, err := ctop(t, append([]string{"ls", "--filter", "name=lab"}, place...)...); code != 125 || !strings.Contains(err.Error(), "--filter") {
		t.Errorf("ls --filter name=lab: exit %d, %v; want 125 naming --filter", code, err)
	}
}
