package systemd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/internal/promstack"
	"github.com/ctop-dev/ctop/metrics/grafana"
)

// The end-to-end tests of names ("what runs where"): ctop's commands, run
// as a user runs them on this host, must name docker's containers, a
// systemd service and a kubelet's pod as docker inspect, systemctl show,
// the kernel's files and ip say they are.

// name is the "name" object of ctop's JSON (docs/json.md); null fields
// decode as "".
type name struct {
	Kind         string `json:"kind"`
	Runtime      string `json:"runtime"`
	ID           string `json:"id"`
	ShortID      string `json:"short_id"`
	Name         string `json:"name"`
	Image        string `json:"image"`
	Project      string `json:"compose_project"`
	Service      string `json:"compose_service"`
	Pod          string `json:"pod"`
	PodNamespace string `json:"pod_namespace"`
	PodUID       string `json:"pod_uid"`
	Container    string `json:"container"`
	Unit         string `json:"unit"`
}

// ctopBin is the ctop the VM installs (CTOP_TEST_BIN).
func ctopBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("CTOP_TEST_BIN")
	if bin == "" {
		t.Fatal("CTOP_TEST_BIN unset: the VM's runner names the ctop it installed")
	}
	return bin
}

// ctopJSON runs ctop with args and decodes its standard output into v.
func ctopJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := command(t, ctopBin(t), args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("ctop %s: %v\n%.2000s", strings.Join(args, " "), err, out)
	}
}

// dockerScope is the cgroup docker's systemd driver puts container id in.
func dockerScope(id string) string { return "/system.slice/docker-" + id + ".scope" }

// nsID is a namespace's (device, inode) identity, from stat of its nsfs
// file.
func nsID(t *testing.T, pid int, typ string) (dev, ino uint64) {
	t.Helper()
	var st syscall.Stat_t
	p := fmt.Sprintf("/proc/%d/ns/%s", pid, typ)
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Dev, st.Ino
}

// groupNames maps every group of ctop cgroups --json to its name.
func groupNames(t *testing.T, args ...string) map[string]*name {
	t.Helper()
	var doc struct {
		Groups []struct {
			Path string `json:"path"`
			Name *name  `json:"name"`
		} `json:"groups"`
	}
	ctopJSON(t, &doc, append([]string{"cgroups", "--json"}, args...)...)
	out := make(map[string]*name, len(doc.Groups))
	for _, g := range doc.Groups {
		out[g.Path] = g.Name
	}
	return out
}

func TestNamesCgroups(t *testing.T) {
	requireVM(t)
	groups := groupNames(t)
	for _, tc := range []struct{ ctr, service string }{{"dk-a", "web"}, {"dk-b", "db"}} {
		c := inspect(t, tc.ctr)
		n := groups[dockerScope(c.ID)]
		if n == nil {
			t.Errorf("ctop cgroups --json: %s has no name (or no group); docker inspect gives id %s", dockerScope(c.ID), c.ID)
			continue
		}
		want := name{Kind: "container", Runtime: "docker", ID: c.ID, ShortID: c.ID[:12], Name: tc.ctr,
			Image: "ctop-busybox:test", Project: c.Config.Labels["com.docker.compose.project"],
			Service: c.Config.Labels["com.docker.compose.service"]}
		if want.Project != "demo" || want.Service != tc.service {
			t.Fatalf("docker inspect %s: compose labels %v, want demo/%s", tc.ctr, c.Config.Labels, tc.service)
		}
		if *n != want {
			t.Errorf("ctop cgroups --json names %s\n %+v\nwant (docker inspect)\n %+v", dockerScope(c.ID), *n, want)
		}
	}

	p := show(t, "ctop-test-limited.service", "ControlGroup", "Id")
	if n := groups[p["ControlGroup"]]; n == nil || n.Kind != "unit" || n.Unit != p["Id"] || n.Unit != "ctop-test-limited.service" {
		t.Errorf("ctop cgroups --json names %s %+v, want kind unit, unit %s (systemctl show)", p["ControlGroup"], n, p["Id"])
	}

	// The pod: the scope is the container, named from the kubelet's log
	// directories; the pod's slice is the pod.
	uid, ctr := os.Getenv("CTOP_TEST_KUBE_POD_UID"), os.Getenv("CTOP_TEST_KUBE_CONTAINER")
	ns, pod, _ := strings.Cut(os.Getenv("CTOP_TEST_KUBE_POD"), "_")
	ctrName := os.Getenv("CTOP_TEST_KUBE_CONTAINER_NAME")
	if uid == "" || ctr == "" || pod == "" || ctrName == "" {
		t.Fatal("CTOP_TEST_KUBE_* unset: provisioning did not finish")
	}
	scope := show(t, "cri-containerd-"+ctr+".scope", "ControlGroup")["ControlGroup"]
	if _, err := os.Stat(filepath.Join("/var/log/pods", ns+"_"+pod+"_"+uid, ctrName)); err != nil {
		t.Fatalf("the kubelet's log directory: %v", err)
	}
	n := groups[scope]
	if n == nil || n.Kind != "container" || n.Runtime != "containerd" || n.ID != ctr ||
		n.Pod != pod || n.PodNamespace != ns || n.PodUID != uid || n.Container != ctrName {
		t.Errorf("ctop cgroups --json names %s %+v; want container %s of containerd, pod %s/%s (uid %s), container %s",
			scope, n, ctr, ns, pod, uid, ctrName)
	}
	slice := filepath.Dir(scope)
	if n := groups[slice]; n == nil || n.Kind != "pod" || n.Pod != pod || n.PodNamespace != ns || n.PodUID != uid {
		t.Errorf("ctop cgroups --json names %s %+v; want pod %s/%s (uid %s)", slice, n, ns, pod, uid)
	}
}

func TestNamesByProcess(t *testing.T) {
	requireVM(t)
	c := inspect(t, "dk-a")
	pid := c.State.Pid

	var ps struct {
		Processes []struct {
			PID  int   `json:"pid"`
			Name *name `json:"name"`
		} `json:"processes"`
	}
	ctopJSON(t, &ps, "ps", "--json")
	found := false
	for _, p := range ps.Processes {
		if p.PID == pid {
			found = true
			if p.Name == nil || p.Name.Name != "dk-a" || p.Name.ID != c.ID {
				t.Errorf("ctop ps --json: pid %d (docker inspect's State.Pid of dk-a) named %+v, want dk-a", pid, p.Name)
			}
		}
	}
	if !found {
		t.Errorf("ctop ps --json lists no pid %d (dk-a's)", pid)
	}

	dev, ino := nsID(t, pid, "net")
	var nss struct {
		Namespaces []struct {
			Type   string `json:"type"`
			Inode  uint64 `json:"inode"`
			Device uint64 `json:"device"`
			PIDs   []int  `json:"pids"`
			Name   *name  `json:"name"`
		} `json:"namespaces"`
	}
	ctopJSON(t, &nss, "ns", "--json", "--type", "net")
	found = false
	for _, n := range nss.Namespaces {
		if n.Type == "net" && n.Inode == ino && n.Device == dev {
			found = true
			if n.Name == nil || n.Name.Name != "dk-a" {
				t.Errorf("ctop ns --json: net namespace %d (/proc/%d/ns/net) named %+v, want dk-a", ino, pid, n.Name)
			}
			if !slices.Contains(n.PIDs, pid) {
				t.Errorf("ctop ns --json: net namespace %d lists pids %v, not %d", ino, n.PIDs, pid)
			}
		}
	}
	if !found {
		t.Errorf("ctop ns --json lists no net namespace %d:%d (/proc/%d/ns/net)", dev, ino, pid)
	}

	type inspectDoc struct {
		PID        int     `json:"pid"`
		Name       *name   `json:"name"`
		NameCgroup *string `json:"name_cgroup"`
	}
	for _, target := range []string{strconv.Itoa(pid), "dk-a"} {
		var doc inspectDoc
		ctopJSON(t, &doc, "inspect", target, "--json")
		if doc.PID != pid || doc.Name == nil || doc.Name.Name != "dk-a" || doc.NameCgroup == nil || *doc.NameCgroup != dockerScope(c.ID) {
			t.Errorf("ctop inspect %s --json: pid %d, name %+v, name_cgroup %v; want pid %d, dk-a, %s",
				target, doc.PID, doc.Name, doc.NameCgroup, pid, dockerScope(c.ID))
		}
	}

	// cgroups by name shows dk-a's group and nothing outside it.
	groups := groupNames(t, "dk-a")
	if n := groups[dockerScope(c.ID)]; n == nil || n.Name != "dk-a" {
		t.Errorf("ctop cgroups dk-a --json: %s named %+v, want dk-a", dockerScope(c.ID), n)
	}
	for p := range groups {
		if p != dockerScope(c.ID) && !strings.HasPrefix(p, dockerScope(c.ID)+"/") {
			t.Errorf("ctop cgroups dk-a --json lists %s, outside %s", p, dockerScope(c.ID))
		}
	}
}

func TestNamesUpdateDocker(t *testing.T) {
	requireVM(t)
	c := inspect(t, "dk-a")
	dir := filepath.Join(cgroupRoot, dockerScope(c.ID))
	before := readTrim(t, filepath.Join(dir, "memory.max"))
	swapBefore := readTrim(t, filepath.Join(dir, "memory.swap.max"))
	if before != strconv.FormatInt(c.HostConfig.Memory, 10) {
		t.Fatalf("%s/memory.max = %s, docker inspect says %d", dir, before, c.HostConfig.Memory)
	}
	t.Cleanup(func() {
		// Back to docker's record, so the container is as provisioned.
		if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(before), 0o644); err != nil {
			t.Errorf("restore %s/memory.max: %v", dir, err)
		}
	})

	cmd := exec.Command(ctopBin(t), "update", "dk-a", "--memory", "96m")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ctop update dk-a --memory 96m: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if got := readTrim(t, filepath.Join(dir, "memory.max")); got != "100663296" {
		t.Errorf("after ctop update dk-a --memory 96m, %s/memory.max = %s, want 100663296", dir, got)
	}
	// v2 limits swap alone: a memory write leaves docker's swap allowance.
	if got := readTrim(t, filepath.Join(dir, "memory.swap.max")); got != swapBefore {
		t.Errorf("%s/memory.swap.max was %s, is %s after --memory alone: the swap allowance changed", dir, swapBefore, got)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	hints := 0
	for _, l := range lines {
		if strings.Contains(l, "docker update") {
			hints++
			if !strings.Contains(l, "docker update --memory 96m dk-a") {
				t.Errorf("ctop update's hint %q does not give the docker update command for dk-a", l)
			}
		}
	}
	if hints != 1 {
		t.Errorf("ctop update dk-a: stderr has %d lines naming docker update, want 1:\n%s", hints, stderr.String())
	}
	// That is why: docker's own record still holds the old limit.
	if after := inspect(t, "dk-a"); after.HostConfig.Memory != c.HostConfig.Memory {
		t.Errorf("docker inspect dk-a: memory %d after ctop update, want docker's record unchanged (%d)", after.HostConfig.Memory, c.HostConfig.Memory)
	}
}

// ipLink is the part of ip -j link's output the test compares.
type ipLink struct {
	Index     int    `json:"ifindex"`
	Name      string `json:"ifname"`
	Master    string `json:"master"`
	LinkIndex int    `json:"link_index"`
	Kind      string `json:"link_type"`
}

func ipLinks(t *testing.T, args ...string) []ipLink {
	t.Helper()
	var ls []ipLink
	out := command(t, args[0], args[1:]...)
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return ls
}

func TestNamesNet(t *testing.T) {
	requireVM(t)
	pid := inspect(t, "dk-a").State.Pid
	dev, ino := nsID(t, pid, "net")
	hostDev, hostIno := nsID(t, 1, "net")

	// What ip says: eth0 inside, its veth peer in the host's namespace on
	// docker0.
	var inside *ipLink
	for _, l := range ipLinks(t, "nsenter", "-t", strconv.Itoa(pid), "-n", "ip", "-j", "link", "show") {
		if l.Name == "eth0" {
			inside = &l
		}
	}
	if inside == nil || inside.LinkIndex == 0 {
		t.Fatalf("nsenter -t %d -n ip -j link: no eth0 with a peer (%+v)", pid, inside)
	}
	var peer *ipLink
	for _, l := range ipLinks(t, "ip", "-j", "link", "show") {
		if l.Index == inside.LinkIndex {
			peer = &l
		}
	}
	if peer == nil || peer.Master != "docker0" || peer.LinkIndex != inside.Index {
		t.Fatalf("ip -j link on the host: ifindex %d (dk-a's eth0's peer) is %+v, want a veth on docker0 whose peer is ifindex %d", inside.LinkIndex, peer, inside.Index)
	}

	var doc struct {
		Namespaces []struct {
			ID struct {
				Dev uint64 `json:"dev"`
				Ino uint64 `json:"ino"`
			} `json:"id"`
			Owner string `json:"owner"`
			Links []struct {
				Index int    `json:"index"`
				Name  string `json:"name"`
				Type  string `json:"type"`
				Peer  *struct {
					NS struct {
						Dev uint64 `json:"dev"`
						Ino uint64 `json:"ino"`
					} `json:"ns"`
					Index  int    `json:"index"`
					Name   string `json:"name"`
					Master string `json:"master"`
				} `json:"peer"`
				PeerOwner string `json:"peer_owner"`
			} `json:"links"`
		} `json:"namespaces"`
	}
	ctopJSON(t, &doc, "net", "--json", "--interval", "0")
	for _, ns := range doc.Namespaces {
		if ns.ID.Dev != dev || ns.ID.Ino != ino {
			continue
		}
		if ns.Owner != "dk-a" {
			t.Errorf("ctop net --json: namespace %d (/proc/%d/ns/net) owned by %q, want dk-a", ino, pid, ns.Owner)
		}
		for _, l := range ns.Links {
			if l.Name != "eth0" {
				continue
			}
			p := l.Peer
			if l.Type != "veth" || l.Index != inside.Index || p == nil || p.NS.Dev != hostDev || p.NS.Ino != hostIno ||
				p.Index != peer.Index || p.Name != peer.Name || p.Master != "docker0" || l.PeerOwner != "host" {
				t.Errorf("ctop net --json: dk-a's eth0 is %+v, peer %+v (owner %q); ip says ifindex %d, peer %s (ifindex %d) on docker0 in the host's namespace %d",
					l, p, l.PeerOwner, inside.Index, peer.Name, peer.Index, hostIno)
			}
			return
		}
		t.Fatalf("ctop net --json: dk-a's namespace has no eth0: %+v", ns.Links)
	}
	t.Fatalf("ctop net --json lists no namespace %d:%d (/proc/%d/ns/net)", dev, ino, pid)
}

// tmuxRun runs tmux on the private server socket.
func tmuxRun(socket string, args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-u", "-L", socket}, args...)...).CombinedOutput()
	return string(out), err
}

func TestNamesTUI(t *testing.T) {
	requireVM(t)
	c := inspect(t, "dk-a")
	socket := fmt.Sprintf("ctop-names-%d", os.Getpid())
	if out, err := tmuxRun(socket, "new-session", "-d", "-s", "ui", "-x", "160", "-y", "40", ctopBin(t)); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { tmuxRun(socket, "kill-server") })
	screen := func() string { s, _ := tmuxRun(socket, "capture-pane", "-p", "-t", "ui"); return s }
	waitFor := func(what string, want ...string) string {
		t.Helper()
		var s string
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			s = screen()
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(s, w)
			}
			if ok {
				return s
			}
		}
		t.Fatalf("%s: the screen never showed %q; last screen:\n%s", what, want, s)
		return ""
	}
	send := func(args ...string) {
		t.Helper()
		if out, err := tmuxRun(socket, append([]string{"send-keys", "-t", "ui"}, args...)...); err != nil {
			t.Fatalf("tmux send-keys %q: %v: %s", args, err, out)
		}
	}

	waitFor("cgroups view", "CGROUP", "MEMORY")
	send("/")
	send("-l", "dk-a")
	send("Enter")
	// The tree labels the container's group with its name, runtime and
	// short id (docker inspect's), and the filter leaves dk-b out.
	s := waitFor("filtered tree", "dk-a (docker "+c.ID[:12]+")")
	if strings.Contains(s, "dk-b") {
		t.Errorf("the filter /dk-a still shows dk-b:\n%s", s)
	}
	send("q")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := tmuxRun(socket, "has-session", "-t", "ui"); err != nil {
			break // ctop exited, and its session with it
		}
		if time.Now().After(deadline) {
			t.Fatalf("ctop did not quit on q; screen:\n%s", screen())
		}
	}
}

// labelsRE matches one label of a Prometheus exposition line.
var labelsRE = regexp.MustCompile(`([a-z_]+)="((?:[^"\\]|\\.)*)"`)

func TestNamesMetrics(t *testing.T) {
	requireVM(t)
	c := inspect(t, "dk-a")
	serveLog := promstack.Start(t, exec.Command(ctopBin(t), "serve", "--listen", "127.0.0.1:0", "--interval", "1s"))
	addr := promstack.ServeAddr(t, serveLog, 60*time.Second)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %v %s", err, resp.Status)
	}
	// A series of dk-a's group, labelled with its name and runtime; its id
	// label is the group docker inspect's id gives.
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.Contains(line, `name="dk-a"`) {
			continue
		}
		labels := map[string]string{}
		for _, m := range labelsRE.FindAllStringSubmatch(line, -1) {
			labels[m[1]] = m[2]
		}
		if labels["runtime"] != "docker" || labels["id"] != dockerScope(c.ID) || labels["image"] != "ctop-busybox:test" {
			t.Errorf("/metrics: a series named dk-a has labels %v; want runtime docker, id %s, image ctop-busybox:test", labels, dockerScope(c.ID))
		}
		found++
	}
	if found == 0 {
		t.Fatalf("/metrics has no series with name=\"dk-a\":\n%.3000s", body)
	}
	t.Logf("/metrics: %d series of dk-a", found)

	t.Run("dashboard", func(t *testing.T) { dashboardFindsDockerContainer(t, addr) })
}

// dashboardFindsDockerContainer runs every query of ctop's Grafana
// dashboard, with dk-a as its name variable, against a Prometheus
// scraping ctop serve at addr: each must return a series named dk-a.
func dashboardFindsDockerContainer(t *testing.T, addr string) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("no prometheus in the VM's image: test/systemd/run.sh installs it")
	}
	queries, err := grafana.Queries(grafana.Dashboard)
	if err != nil {
		t.Fatal(err)
	}

	api, _, promLog := promstack.Prometheus(t, t.TempDir(), promBin, addr)

	deadline := time.Now().Add(3 * time.Minute)
	for _, q := range queries {
		expr, err := grafana.Substitute(q.Expr, "dk-a")
		if err != nil {
			t.Fatal(err)
		}
		var last string
		for {
			n, err := seriesNamed(api, expr, "dk-a")
			if err == nil && n > 0 {
				t.Logf("panel %q: %d series of dk-a", q.Panel, n)
				break
			}
			last = fmt.Sprintf("%d series named dk-a, %v", n, err)
			if time.Now().After(deadline) {
				t.Fatalf("panel %q found no series of dk-a (%s):\n%s\nprometheus:\n%.2000s", q.Panel, last, expr, promLog.String())
			}
			time.Sleep(time.Second)
		}
	}
}

// seriesNamed runs an instant query against the Prometheus at api and
// counts the series labelled name.
func seriesNamed(api, expr, name string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("query: %s", r.Error)
	}
	n := 0
	for _, s := range r.Data.Result {
		if s.Metric["name"] == name {
			n++
		}
	}
	return n, nil
}
