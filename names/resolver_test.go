package names

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeEngine serves docker's ContainerInspect on a unix socket in a temp
// dir, with the JSON shape docker 24 returns (trimmed to a real subset),
// and counts the requests for each id.
type fakeEngine struct {
	mu    sync.Mutex
	asked map[string]int
	docs  map[string]string
	delay time.Duration // before each answer: a hung daemon
}

func (e *fakeEngine) count(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.asked[id]
}

func startEngine(t *testing.T, docs map[string]string) (*fakeEngine, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ctop-names") // short: a unix socket path has 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return startEngineAt(t, filepath.Join(dir, "docker.sock"), docs)
}

func startEngineAt(t *testing.T, sock string, docs map[string]string) (*fakeEngine, string) {
	t.Helper()
	e := &fakeEngine{asked: map[string]int{}, docs: docs}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutPrefix(r.URL.Path, "/containers/")
		id, ok2 := strings.CutSuffix(id, "/json")
		if r.Method != http.MethodGet || !ok || !ok2 {
			http.Error(w, `{"message":"page not found"}`, http.StatusNotFound)
			return
		}
		e.mu.Lock()
		e.asked[id]++
		doc, known := e.docs[id]
		delay := e.delay
		e.mu.Unlock()
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		if !known {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"message": "No such container: " + id})
			return
		}
		w.Write([]byte(doc))
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return e, sock
}

// inspectJSON is docker's answer for a compose service's container.
func inspectJSON(id, name, image, project, service string) string {
	return `{
  "Id": "` + id + `",
  "Created": "2026-12-07T21:58:03.114213857Z",
  "Path": "/docker-entrypoint.sh",
  "Args": ["nginx", "-g", "daemon off;"],
  "State": {"Status": "running", "Running": true, "Pid": 4242, "ExitCode": 0, "StartedAt": "2026-12-07T21:58:03.51Z"},
  "Image": "sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6",
  "Name": "/` + name + `",
  "RestartCount": 0,
  "Driver": "overlay2",
  "HostConfig": {"Memory": 536870912, "MemorySwap": 1073741824, "CgroupParent": ""},
  "Config": {
    "Hostname": "` + id[:12] + `",
    "Image": "` + image + `",
    "Labels": {
      "com.docker.compose.config-hash": "d2c4f3",
      "com.docker.compose.project": "` + project + `",
      "com.docker.compose.service": "` + service + `",
      "com.docker.compose.version": "2.29.1"
    }
  },
  "NetworkSettings": {"Networks": {"shop_default": {"IPAddress": "172.18.0.2"}}}
}`
}

func TestResolverEngine(t *testing.T) {
	other := strings.Repeat("ab", 32)
	gone := strings.Repeat("cd", 32)
	e, sock := startEngine(t, map[string]string{
		dockerID: inspectJSON(dockerID, "shop-web-1", "nginx:1.27", "shop", "web"),
		other:    inspectJSON(other, "shop-db-1", "postgres:16", "shop", "db"),
	})
	r := New(Options{Root: "/", Engines: []Engine{{Runtime: RuntimeDocker, Socket: sock}}})
	web := "/system.slice/docker-" + dockerID + ".scope"
	paths := []string{"/", "/system.slice", web, "/docker/" + gone}
	for refresh := 0; refresh < 2; refresh++ {
		got := r.Names(paths)
		want := map[string]Name{
			"/system.slice":   {Kind: KindSlice, Runtime: RuntimeSystemd, Unit: "system.slice"},
			web:               {Kind: KindContainer, Runtime: RuntimeDocker, ID: dockerID, ShortID: dockerID[:12], Name: "shop-web-1", Image: "nginx:1.27", Project: "shop", Service: "web"},
			"/docker/" + gone: {Kind: KindContainer, Runtime: RuntimeDocker, ID: gone, ShortID: gone[:12]},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("refresh %d: Names (-want +got):\n%s", refresh, diff)
		}
	}
	if n, m := e.count(dockerID), e.count(gone); n != 1 || m != 1 {
		t.Errorf("after two refreshes the engine was asked %d times about a known id and %d about an unknown one, want once each", n, m)
	}
	// A container that appears later is asked about once, when new.
	paths = append(paths, "/docker/"+other)
	for refresh := 0; refresh < 2; refresh++ {
		if got := r.Names(paths)["/docker/"+other].Name; got != "shop-db-1" {
			t.Errorf("new container's name = %q, want shop-db-1", got)
		}
	}
	if n := e.count(other); n != 1 {
		t.Errorf("engine asked %d times about a new id over two refreshes, want 1", n)
	}
	if n := e.count(dockerID); n != 1 {
		t.Errorf("engine asked again about a known id: %d requests", n)
	}
}

func TestResolverNoEngine(t *testing.T) {
	dir := t.TempDir()
	r := New(Options{Root: dir, Engines: []Engine{{Runtime: RuntimeDocker, Socket: "/var/run/docker.sock"}}, Timeout: 50 * time.Millisecond})
	p := "/docker/" + dockerID
	got := r.Names([]string{p})[p]
	if got.String() != "docker:36219a26d503" || got.Name != "" {
		t.Errorf("without a socket, Names = %+v (%q), want runtime and short id from the path", got, got)
	}
}

func TestResolverDeadEngine(t *testing.T) {
	// A socket file nobody listens on: the dial fails at once, the
	// container keeps its path name, and the engine is left alone for a
	// while rather than dialled on every refresh.
	dir, err := os.MkdirTemp("", "ctop-names")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	r := New(Options{Engines: []Engine{{Runtime: RuntimeDocker, Socket: sock}}})
	p := "/docker/" + dockerID
	if got := r.Names([]string{p})[p]; got.ShortID != dockerID[:12] || got.Name != "" {
		t.Errorf("dead engine: Names = %+v, want the path's name", got)
	}
	if _, ok := r.down[sock]; !ok {
		t.Errorf("a failed engine is not marked down")
	}
	if _, seen := r.containers[dockerID]; seen {
		t.Errorf("an id no engine answered for is recorded as asked; it should be asked once the engine is back")
	}
}

func TestResolverPods(t *testing.T) {
	r := New(Options{Root: "testdata/host", Engines: []Engine{}})
	pod := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5f1c2a3b_4d5e_6f70_8192_a3b4c5d6e7f8.slice"
	nginx := pod + "/cri-containerd-1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988.scope"
	pause := pod + "/cri-containerd-0000000000000000000000000000000000000000000000000000000000000001.scope"
	dns := "/kubepods/pod0a1b2c3d-1111-2222-3333-444455556666/9999aaaabbbbccccddddeeeeffff00001111222233334444555566667777888a"
	stray := "/kubepods/besteffort/pod00000000-0000-0000-0000-000000000000"
	got := r.Names([]string{pod, nginx, pause, dns, stray})
	for _, c := range []struct {
		path, label, ns, pod, container, qos string
	}{
		{pod, "shop/web-7d9f8b6c5-x2x9q", "shop", "web-7d9f8b6c5-x2x9q", "", "burstable"},
		{nginx, "shop/web-7d9f8b6c5-x2x9q/nginx", "shop", "web-7d9f8b6c5-x2x9q", "nginx", "burstable"},
		{pause, "shop/web-7d9f8b6c5-x2x9q/000000000000", "shop", "web-7d9f8b6c5-x2x9q", "", "burstable"},
		{dns, "kube-system/coredns-5d78c9869d-abcde/coredns", "kube-system", "coredns-5d78c9869d-abcde", "coredns", "guaranteed"},
		{stray, "pod:00000000-0000-0000-0000-000000000000", "", "", "", "besteffort"},
	} {
		n := got[c.path]
		if n.String() != c.label || n.PodNamespace != c.ns || n.Pod != c.pod || n.Container != c.container || n.QoS != c.qos {
			t.Errorf("Names[%s] = %+v (%q), want %q ns %q pod %q container %q qos %q", c.path, n, n, c.label, c.ns, c.pod, c.container, c.qos)
		}
	}
}

func TestResolverSandboxes(t *testing.T) {
	dir := t.TempDir()
	st := `{"name": "busy", "pid": 0, "cgroup": "/mine/busy", "created": "2026-12-07T22:00:00Z"}`
	if err := os.WriteFile(filepath.Join(dir, "busy.json"), []byte(st), 0o600); err != nil {
		t.Fatal(err)
	}
	// A sandbox under systemd: its group is a scope, whose unit it keeps.
	st = `{"name": "web", "pid": 0, "cgroup": "/ctop.slice/ctop-web.scope", "cgroup_manager": "systemd", "unit": "ctop-web.scope", "created": "2026-12-07T22:00:00Z"}`
	if err := os.WriteFile(filepath.Join(dir, "web.json"), []byte(st), 0o600); err != nil {
		t.Fatal(err)
	}
	r := New(Options{SandboxDir: dir, Engines: []Engine{}})
	got := r.Names([]string{"/mine/busy", "/ctop/other", "/mine", "/ctop.slice/ctop-web.scope"})
	want := map[string]Name{
		"/mine/busy":                 {Kind: KindSandbox, Runtime: RuntimeCtop, Name: "busy"},
		"/ctop/other":                {Kind: KindSandbox, Runtime: RuntimeCtop, Name: "other"},
		"/ctop.slice/ctop-web.scope": {Kind: KindSandbox, Runtime: RuntimeCtop, Name: "web", Unit: "ctop-web.scope"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
}

// The state directory is listed again when its modification time
// changes, and only then once that time has settled.
func TestResolverSandboxesRelisted(t *testing.T) {
	dir := t.TempDir()
	record := func(name, cg string) {
		st := `{"name": "` + name + `", "pid": 0, "cgroup": "` + cg + `", "created": "2026-12-07T22:00:00Z"}`
		if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(st), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	setMtime := func(m time.Time) {
		if err := os.Chtimes(dir, m, m); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	record("busy", "/mine/busy")
	setMtime(old)
	r := New(Options{SandboxDir: dir, Engines: []Engine{}})
	ps := []string{"/mine/busy", "/mine/idle"}
	name := func(p string) string { return r.Names(ps)[p].Name }
	if got := name("/mine/busy"); got != "busy" {
		t.Fatalf("busy = %q", got)
	}
	// A record made while the time stays (a settled listing is reused).
	record("idle", "/mine/idle")
	setMtime(old)
	if got := name("/mine/idle"); got != "" {
		t.Errorf("idle = %q with the directory's time unchanged, want the listing reused", got)
	}
	// The time moves: listed again, and while it is recent, every time.
	setMtime(time.Now())
	if got := name("/mine/idle"); got != "idle" {
		t.Errorf("idle = %q after the directory changed, want idle", got)
	}
	if err := os.Remove(filepath.Join(dir, "busy.json")); err != nil {
		t.Fatal(err)
	}
	setMtime(time.Now())
	if got := name("/mine/busy"); got != "" {
		t.Errorf("busy = %q after its record went", got)
	}
	record("late", "/mine/late")
	ps = append(ps, "/mine/late")
	if got := name("/mine/late"); got != "late" {
		t.Errorf("late = %q, made while the directory's time was recent", got)
	}
}

func TestResolverRootlessPodman(t *testing.T) {
	root, err := os.MkdirTemp("", "ctop-names")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(root)
	sock := filepath.Join(root, "run/user/1000/podman/podman.sock")
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	e, _ := startEngineAt(t, sock, map[string]string{podmanID: inspectJSON(podmanID, "toolbox", "registry.fedoraproject.org/fedora-toolbox:40", "", "")})
	r := New(Options{Root: root})
	p := "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + podmanID + ".scope"
	got := r.Names([]string{p})[p]
	if got.Name != "toolbox" || got.Runtime != RuntimePodman || got.Image != "registry.fedoraproject.org/fedora-toolbox:40" {
		t.Errorf("rootless podman container = %+v, want toolbox from the user's podman socket", got)
	}
	if e.count(podmanID) != 1 {
		t.Errorf("user's podman socket asked %d times, want 1", e.count(podmanID))
	}
}

func TestResolverSlowEngine(t *testing.T) {
	e, sock := startEngine(t, map[string]string{dockerID: inspectJSON(dockerID, "slow", "busybox", "", "")})
	e.delay = 300 * time.Millisecond
	r := New(Options{Engines: []Engine{{Runtime: RuntimeDocker, Socket: sock}}, Timeout: 50 * time.Millisecond})
	other := strings.Repeat("ef", 32)
	ps := []string{"/docker/" + dockerID, "/docker/" + other}
	start := time.Now()
	for refresh := 0; refresh < 3; refresh++ {
		got := r.Names(ps)
		if n := got[ps[0]]; n.Name != "" || n.ShortID != dockerID[:12] {
			t.Errorf("refresh %d: slow engine's container = %+v, want the path's name", refresh, n)
		}
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("three refreshes with a hung engine took %v: it should be asked once, with the timeout", d)
	}
	// (0 is possible only when the handler has not yet run under load.)
	if n := e.count(dockerID) + e.count(other); n > 1 {
		t.Errorf("hung engine asked %d times over three refreshes, want 1 (then left alone for a while)", n)
	}
}
