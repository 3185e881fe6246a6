package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ctop-dev/ctop/cgroup"
)

// TestNamesLive makes groups shaped like a docker container's and a
// systemd service's under a test parent, and reaches them by name:
// ctop cgroups by short id, ctop update by unit name and by short id,
// with the line saying how to tell the manager.
func TestNamesLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups")
	}
	f, err := cgroup.Open("/")
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	pid := os.Getpid()
	parent := fmt.Sprintf("/ctop-test-%d-names", pid)
	id := fmt.Sprintf("%064x", pid)
	ctr := parent + "/docker/" + id
	unit := fmt.Sprintf("ctop-test-%d.service", pid)
	h, _ := f.Hierarchy("memory")
	swap := h.Version == 1 && f.SwapAccounted()
	t.Logf("v1 swap accounting: %v", swap)
	mem, memsw := cgroup.LimitOf(32<<20), cgroup.LimitOf(64<<20)
	r := cgroup.Resources{MemoryMax: &mem}
	if swap {
		r.MemorySwap = &memsw
	}
	t.Cleanup(func() {
		for _, p := range []string{ctr, parent + "/docker", parent + "/" + unit, parent} {
			if m, err := cgroup.Load(f, p); err == nil {
				_ = m.Delete()
			}
		}
	})
	if _, err := cgroup.Create(f, ctr, r); err != nil {
		t.Fatal(err)
	}
	if _, err := cgroup.Create(f, parent+"/"+unit, cgroup.Resources{}); err != nil {
		t.Fatal(err)
	}

	for _, target := range []string{id[:12], parent + "/docker/" + id[:12]} {
		out, code, err := ctop(t, "cgroups", "-i", "0", target)
		if code != 0 || !strings.Contains(out, ctr) {
			t.Errorf("ctop cgroups %s: exit %d, %v; want the container's group %s:\n%s", target, code, err, ctr, out)
		}
	}
	out, code, err := ctop(t, "cgroups", "-i", "0", "--json", parent)
	if code != 0 || !strings.Contains(out, `"short_id": "`+id[:12]+`"`) || !strings.Contains(out, `"unit": "`+unit+`"`) {
		t.Errorf("ctop cgroups --json: exit %d, %v; want name objects for the container and the unit:\n%s", code, err, out)
	}

	out, code, err = ctop(t, "update", "--pids-limit", "50", unit)
	if code != 0 || !strings.Contains(out, "systemctl set-property "+unit+" TasksMax=50") {
		t.Errorf("ctop update by unit name: exit %d, %v; want the systemctl line:\n%s", code, err, out)
	}
	if g, err := f.Read(parent + "/" + unit); err != nil || g.Limits.Pids != cgroup.LimitOf(50) {
		t.Errorf("unit's pids.max after update = %v (%v), want 50", g.Limits.Pids, err)
	}

	out, code, err = ctop(t, "update", "--memory", "48m", id[:12])
	if code != 0 || !strings.Contains(out, "update --memory 48m ") {
		t.Errorf("ctop update by short id: exit %d, %v; want the docker update line:\n%s", code, err, out)
	}
	g, err := f.Read(ctr)
	if err != nil || g.Limits.Memory.Max != cgroup.LimitOf(48<<20) {
		t.Fatalf("memory limit after update = %v (%v), want 48m", g.Limits.Memory.Max, err)
	}
	if swap {
		if g.Limits.Memory.Swap != cgroup.LimitOf(32<<20) || !strings.Contains(out, "kept ") {
			t.Errorf("swap allowance after --memory alone = %v, want the 32m it had (output %q)", g.Limits.Memory.Swap, out)
		}
	}

	// inspect by unit name inspects the group's lowest pid and names it.
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
	um, err := cgroup.Load(f, parent+"/"+unit)
	if err != nil {
		t.Fatal(err)
	}
	if err := um.AddProc(sleep.Process.Pid); err != nil {
		t.Fatal(err)
	}
	out, code, err = ctop(t, "inspect", "--json", unit)
	var doc struct {
		PID  int `json:"pid"`
		Name struct {
			Kind string `json:"kind"`
			Unit string `json:"unit"`
		} `json:"name"`
		NameCgroup *string `json:"name_cgroup"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.PID != sleep.Process.Pid || doc.Name.Unit != unit || doc.NameCgroup == nil || *doc.NameCgroup != parent+"/"+unit {
		t.Errorf("ctop inspect --json %s: exit %d, %v; want pid %d named %s:\n%s", unit, code, err, sleep.Process.Pid, unit, out)
	}
	out, _, _ = ctop(t, "inspect", unit)
	if !strings.Contains(out, "runs in systemd unit "+unit+", cgroup "+parent+"/"+unit) {
		t.Errorf("ctop inspect %s does not say what the process runs in:\n%s", unit, out)
	}
	_ = sleep.Process.Kill()
	_ = sleep.Wait()

	if _, code, err := ctop(t, "update", "--pids-limit", "50", "ctop-no-such-name"); code == 0 || !strings.Contains(err.Error(), `named "ctop-no-such-name"`) {
		t.Errorf("ctop update of an unknown name: exit %d, %v", code, err)
	}
}
