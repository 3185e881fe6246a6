package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/netinfo"
	"github.com/ctop-dev/ctop/nsinfo"
)

func TestNetOwners(t *testing.T) {
	id := func(i uint64) nsinfo.ID { return nsinfo.ID{Dev: 4, Ino: i} }
	nss := []netinfo.Namespace{
		{Target: netinfo.Target{ID: id(1), PID: 1, Cgroup: "/init.scope"}},
		{Target: netinfo.Target{ID: id(2), PID: 50, Cgroup: "/system.slice/docker-abc.scope", Name: "1f2e3d4c5b6a", Mount: "/run/docker/netns/1f2e3d4c5b6a"}},
		{Target: netinfo.Target{ID: id(3), Name: "blue", Mount: "/run/netns/blue"}},
		{Target: netinfo.Target{ID: id(4), PID: 70, Cgroup: "/system.slice/cron.service"}},
		{Target: netinfo.Target{ID: id(5), PID: 80, Cgroup: "/user.slice"}},
	}
	byPath := map[string]names.Name{
		"/system.slice/docker-abc.scope": {Kind: names.KindContainer, Runtime: names.RuntimeDocker, Name: "web"},
		"/system.slice/cron.service":     {Kind: names.KindUnit, Unit: "cron.service"},
	}
	got := netOwners(nss, byPath, id(1))
	want := map[nsinfo.ID]string{id(1): "host", id(2): "web", id(3): "netns:blue", id(4): "cron.service", id(5): "pid 80"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("netOwners (-want +got):\n%s", diff)
	}
}

func TestNetBadInterval(t *testing.T) {
	if _, code, err := ctop(t, "net", "--interval", "-1s"); code == 0 || !strings.Contains(err.Error(), "--interval -1s") {
		t.Errorf("net --interval -1s: exit %d, %v", code, err)
	}
}

// TestNetSandbox starts a sandbox with --network none and checks that
// ctop net shows its namespace, named after it, with loopback alone.
func TestNetSandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups and namespaces")
	}
	f, err := cgroup.Open("/")
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	parent := fmt.Sprintf("/ctop-test-%d-net", os.Getpid())
	state := filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() {
		_, _, _ = ctop(t, "stop", "-t", "1", "--state-dir", state, "nettest")
		_, _, _ = ctop(t, "rm", "--state-dir", state, "nettest")
		if m, err := cgroup.Load(f, parent); err == nil {
			_ = m.Kill()
			_ = m.Delete()
		}
	})
	out, code, err := ctop(t, "run", "--cgroup-parent", parent, "--state-dir", state, "-d", "--name", "nettest", "--network", "none", "--", "sleep", "60")
	if code != 0 {
		t.Fatalf("run -d --network none: exit %d, %v: %s", code, err, out)
	}
	out, code, err = ctop(t, "net", "--json", "-i", "100ms", "--state-dir", state)
	if code != 0 {
		t.Fatalf("net --json: exit %d, %v: %s", code, err, out)
	}
	var doc struct {
		Namespaces []struct {
			Owner string `json:"owner"`
			Error string `json:"error"`
			Links []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Up    bool            `json:"admin_up"`
				Addrs []string        `json:"addrs"`
				Rates *map[string]any `json:"rates"`
			} `json:"links"`
		} `json:"namespaces"`
	}
	// stderr may follow the document (namespaces that could not be read).
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&doc); err != nil {
		t.Fatalf("net --json: %v:\n%s", err, out)
	}
	found := false
	for _, ns := range doc.Namespaces {
		if ns.Owner != "nettest" {
			continue
		}
		found = true
		if ns.Error != "" || len(ns.Links) != 1 {
			t.Fatalf("sandbox namespace: error %q, links %+v; want lo alone", ns.Error, ns.Links)
		}
		lo := ns.Links[0]
		if lo.Name != "lo" || lo.Type != "loopback" || !lo.Up || !strings.Contains(strings.Join(lo.Addrs, " "), "127.0.0.1/8") || lo.Rates == nil {
			t.Errorf("sandbox's lo = %+v; want loopback, up, 127.0.0.1/8, with rates", lo)
		}
	}
	if !found {
		t.Fatalf("no namespace owned by the sandbox nettest:\n%s", out)
	}
	if doc.Namespaces[0].Owner != "host" {
		t.Errorf("first namespace is %q, want the host's", doc.Namespaces[0].Owner)
	}
	// The terminal UI's source says the same.
	s, err := newNetSampler(state)
	if err != nil {
		t.Fatal(err)
	}
	table, err := netSource{s}.Networks()
	if err != nil {
		t.Fatal(err)
	}
	if own := table.Owners[table.Snap.Namespaces[0].ID]; own != "host" {
		t.Errorf("the UI's first namespace is %q, want the host's", own)
	}
	named := 0
	for _, ns := range table.Snap.Namespaces {
		if table.Owners[ns.ID] == "nettest" {
			named++
			if len(ns.Links) != 1 || ns.Links[0].Type != "loopback" {
				t.Errorf("the UI's sandbox namespace holds %+v, want lo alone", ns.Links)
			}
		}
	}
	if named != 1 {
		t.Errorf("the UI names %d namespaces after the sandbox, want 1", named)
	}
	out, _, _ = ctop(t, "net", "-i", "0", "--state-dir", state)
	if !strings.Contains(out, "nettest") || !strings.HasPrefix(out, "NETNS") {
		t.Errorf("net table does not show the sandbox:\n%s", out)
	}
}
