package names

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestLiveDocker names the running containers of a real docker daemon:
// each container's first process's cgroup must resolve to the name and
// image docker gives. It only reads.
func TestLiveDocker(t *testing.T) {
	const sock = "/var/run/docker.sock"
	// The systemd test VM (make test-systemd) runs docker with two
	// containers: there a missing daemon is a failure, not a skip.
	vm := os.Getenv("CTOP_TEST_SYSTEMD") == "1"
	if _, err := os.Stat(sock); err != nil {
		if vm {
			t.Fatalf("no docker daemon in the systemd test VM: %v", err)
		}
		t.Skipf("no docker daemon here (%v): the fixture tests cover the engine API", err)
	}
	c := newEngineClient(sock, 0)
	resp, err := c.http.Get("http://engine/containers/json")
	if err != nil {
		t.Skipf("docker socket does not answer: %v", err)
	}
	defer resp.Body.Close()
	var list []struct {
		ID    string   `json:"Id"`
		Names []string `json:"Names"`
		Image string   `json:"Image"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		if vm {
			t.Fatal("docker runs no container in the systemd test VM: provisioning starts dk-a and dk-b")
		}
		t.Skip("docker runs no container to name")
	}
	r := New(Options{})
	for _, ctr := range list {
		info, err := c.inspect(ctr.ID)
		if err != nil {
			t.Fatal(err)
		}
		pid := 0
		resp, err := c.http.Get("http://engine/containers/" + ctr.ID + "/json")
		if err == nil {
			var d struct{ State struct{ Pid int } }
			json.NewDecoder(resp.Body).Decode(&d)
			resp.Body.Close()
			pid = d.State.Pid
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if pid == 0 || err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		var paths []string
		for _, l := range lines {
			if f := strings.SplitN(l, ":", 3); len(f) == 3 {
				paths = append(paths, f[2])
			}
		}
		names := r.Names(Ancestors(paths))
		found := false
		for _, p := range paths {
			if n, _ := Owner(p, names); n.ID == ctr.ID {
				found = true
				if n.Name != info.name || n.Image != info.image {
					t.Errorf("container %s in %s named %+v, want name %q image %q", ctr.ID[:12], p, n, info.name, info.image)
				}
			}
		}
		if !found {
			t.Errorf("no cgroup of container %s (%v) names it: %q", ctr.ID[:12], ctr.Names, paths)
		}
	}
}
