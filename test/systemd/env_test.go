package systemd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const cgroupRoot = "/sys/fs/cgroup"

// requireVM skips unless the test runs inside the systemd test VM as root.
func requireVM(t *testing.T) {
	t.Helper()
	if os.Getenv("CTOP_TEST_SYSTEMD") != "1" {
		t.Skip("not inside the systemd test VM (CTOP_TEST_SYSTEMD=1); make test-systemd runs it")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the systemd test VM runs its tests as root, got euid", os.Geteuid())
	}
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// command runs name with args and returns its trimmed standard output.
func command(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// show returns systemctl show's properties of unit, or of the manager
// itself when unit is empty.
func show(t *testing.T, unit string, props ...string) map[string]string {
	t.Helper()
	args := []string{"show"}
	if unit != "" {
		args = append(args, unit)
	}
	for _, p := range props {
		args = append(args, "-p", p)
	}
	m, err := parseProperties(command(t, "systemctl", args...))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range props {
		if _, ok := m[p]; !ok {
			t.Fatalf("systemctl show %s: no property %s", unit, p)
		}
	}
	return m
}

func TestDeliberateFailure(t *testing.T) {
	if os.Getenv("CTOP_VM_SELFTEST_FAIL") != "1" {
		t.Skip("set CTOP_VM_SELFTEST_FAIL=1 to see a failing test fail make test-systemd")
	}
	t.Fatal("deliberate failure (CTOP_VM_SELFTEST_FAIL=1)")
}

func TestPID1IsSystemd(t *testing.T) {
	requireVM(t)
	if comm := readTrim(t, "/proc/1/comm"); comm != "systemd" {
		t.Fatalf("/proc/1/comm = %q, want systemd", comm)
	}
	exe, err := os.Readlink("/proc/1/exe")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(exe) != "systemd" {
		t.Fatalf("/proc/1/exe -> %s, want systemd's binary", exe)
	}
	// systemd says so too, over its own bus.
	if v := show(t, "", "Version")["Version"]; v == "" {
		t.Fatal("systemctl show: empty Version")
	}
}

func TestPureCgroup2(t *testing.T) {
	requireVM(t)
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mounts, err := parseMountinfo(f)
	if err != nil {
		t.Fatal(err)
	}
	v2 := false
	for _, m := range mounts {
		switch m.fstype {
		case "cgroup":
			t.Errorf("cgroup v1 hierarchy mounted at %s (%s)", m.point, m.options)
		case "cgroup2":
			if m.point == cgroupRoot {
				v2 = true
			}
		}
	}
	if !v2 {
		t.Errorf("no cgroup2 mount at %s in /proc/self/mountinfo", cgroupRoot)
	}
	// One line, hierarchy 0, in /proc/self/cgroup.
	lines := strings.Split(readTrim(t, "/proc/self/cgroup"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "0::/") {
		t.Errorf("/proc/self/cgroup = %q, want one 0::/ line", lines)
	}
	// cgroup_no_v1=all: the v1 hierarchies of /proc/cgroups are all 0.
	for _, line := range strings.Split(readTrim(t, "/proc/cgroups"), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) == 4 && fields[1] != "0" {
			t.Errorf("/proc/cgroups: %s is bound to v1 hierarchy %s", fields[0], fields[1])
		}
	}
	want := []string{"cpu", "io", "memory", "pids"}
	got := strings.Fields(readTrim(t, filepath.Join(cgroupRoot, "cgroup.subtree_control")))
	for _, c := range want {
		if !contains(got, c) {
			t.Errorf("root cgroup.subtree_control = %q, lacks %s", got, c)
		}
	}
}

func TestSystemRunning(t *testing.T) {
	requireVM(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// is-system-running exits non-zero when degraded: read its output.
	out, _ := exec.CommandContext(ctx, "systemctl", "is-system-running", "--wait").Output()
	state := strings.TrimSpace(string(out))
	failed := command(t, "systemctl", "--failed", "--plain", "--no-legend")
	switch state {
	case "running":
	case "degraded":
		t.Logf("system degraded; failed units:\n%s", failed)
	default:
		t.Fatalf("systemctl is-system-running = %q, want running or degraded; failed units:\n%s", state, failed)
	}
}

// container is the part of docker inspect's output the tests compare.
type container struct {
	ID    string
	State struct {
		Pid     int
		Running bool
	}
	HostConfig struct {
		Memory    int64
		NanoCpus  int64
		PidsLimit *int64
	}
	Config struct {
		Labels map[string]string
	}
	NetworkSettings struct {
		Networks map[string]json.RawMessage
	}
}

func inspect(t *testing.T, name string) container {
	t.Helper()
	var cs []container
	if err := json.Unmarshal([]byte(command(t, "docker", "inspect", name)), &cs); err != nil {
		t.Fatalf("docker inspect %s: %v", name, err)
	}
	if len(cs) != 1 {
		t.Fatalf("docker inspect %s: %d containers", name, len(cs))
	}
	return cs[0]
}

func TestDockerContainerLimits(t *testing.T) {
	requireVM(t)
	for _, tc := range []struct {
		name, service string
		memory        int64
		nanoCPUs      int64
		pids          int64
	}{
		{"dk-a", "web", 64 << 20, 500_000_000, 50},
		{"dk-b", "db", 128 << 20, 250_000_000, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := inspect(t, tc.name)
			if !c.State.Running || c.State.Pid == 0 {
				t.Fatalf("docker inspect %s: not running (pid %d)", tc.name, c.State.Pid)
			}
			if c.HostConfig.Memory != tc.memory || c.HostConfig.NanoCpus != tc.nanoCPUs ||
				c.HostConfig.PidsLimit == nil || *c.HostConfig.PidsLimit != tc.pids {
				t.Fatalf("docker inspect %s: memory %d, nanocpus %d, pids %v; want %d, %d, %d",
					tc.name, c.HostConfig.Memory, c.HostConfig.NanoCpus, c.HostConfig.PidsLimit,
					tc.memory, tc.nanoCPUs, tc.pids)
			}
			if c.Config.Labels["com.docker.compose.project"] != "demo" ||
				c.Config.Labels["com.docker.compose.service"] != tc.service {
				t.Errorf("docker inspect %s: labels %v, want compose project demo, service %s",
					tc.name, c.Config.Labels, tc.service)
			}
			if _, ok := c.NetworkSettings.Networks["bridge"]; !ok {
				t.Errorf("docker inspect %s: networks %v, want the default bridge", tc.name, c.NetworkSettings.Networks)
			}

			// The kernel's view: the container's init is in docker's
			// scope (systemd cgroup driver), which holds the limits.
			group := "/system.slice/docker-" + c.ID + ".scope"
			procCgroup := readTrim(t, fmt.Sprintf("/proc/%d/cgroup", c.State.Pid))
			if procCgroup != "0::"+group {
				t.Fatalf("/proc/%d/cgroup = %q, want 0::%s", c.State.Pid, procCgroup, group)
			}
			dir := filepath.Join(cgroupRoot, group)
			if got := readTrim(t, filepath.Join(dir, "memory.max")); got != strconv.FormatInt(tc.memory, 10) {
				t.Errorf("%s/memory.max = %s, want %d", dir, got, tc.memory)
			}
			quota, period, err := parseCPUMax(readTrim(t, filepath.Join(dir, "cpu.max")))
			if err != nil {
				t.Fatal(err)
			}
			if quota*1_000_000_000/period != tc.nanoCPUs {
				t.Errorf("%s/cpu.max = %d/%d, want %d nanocpus", dir, quota, period, tc.nanoCPUs)
			}
			if got := readTrim(t, filepath.Join(dir, "pids.max")); got != strconv.FormatInt(tc.pids, 10) {
				t.Errorf("%s/pids.max = %s, want %d", dir, got, tc.pids)
			}
			// systemd knows the scope and agrees on the limit.
			p := show(t, "docker-"+c.ID+".scope", "ActiveState", "MemoryMax")
			if p["ActiveState"] != "active" || p["MemoryMax"] != strconv.FormatInt(tc.memory, 10) {
				t.Errorf("systemctl show docker-%.12s.scope: %v, want active with MemoryMax %d", c.ID, p, tc.memory)
			}
		})
	}
	// Containers on the default bridge: docker0 has veth ports.
	ports, err := os.ReadDir("/sys/class/net/docker0/brif")
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) < 2 {
		t.Errorf("/sys/class/net/docker0/brif has %d ports, want a veth per container", len(ports))
	}
	for _, p := range ports {
		if !strings.HasPrefix(p.Name(), "veth") {
			t.Errorf("docker0 port %s is not a veth", p.Name())
		}
	}
}

func TestLimitedService(t *testing.T) {
	requireVM(t)
	p := show(t, "ctop-test-limited.service", "ActiveState", "MemoryMax", "CPUQuotaPerSecUSec", "TasksMax", "ControlGroup", "MainPID")
	if p["ActiveState"] != "active" {
		t.Fatalf("ctop-test-limited.service is %s", p["ActiveState"])
	}
	dir := filepath.Join(cgroupRoot, p["ControlGroup"])
	if got := readTrim(t, filepath.Join(dir, "memory.max")); got != p["MemoryMax"] || got != strconv.Itoa(96<<20) {
		t.Errorf("MemoryMax %s, %s/memory.max %s, want both %d", p["MemoryMax"], dir, got, 96<<20)
	}
	perSecond, err := parseTimespan(p["CPUQuotaPerSecUSec"])
	if err != nil {
		t.Fatal(err)
	}
	quota, period, err := parseCPUMax(readTrim(t, filepath.Join(dir, "cpu.max")))
	if err != nil {
		t.Fatal(err)
	}
	if perSecond != 200*time.Millisecond || time.Duration(quota*1_000_000/period)*time.Microsecond != perSecond {
		t.Errorf("CPUQuotaPerSecUSec %s, %s/cpu.max %d/%d; want both 20%% of a CPU", p["CPUQuotaPerSecUSec"], dir, quota, period)
	}
	if got := readTrim(t, filepath.Join(dir, "pids.max")); got != p["TasksMax"] || got != "40" {
		t.Errorf("TasksMax %s, %s/pids.max %s, want both 40", p["TasksMax"], dir, got)
	}
	if got := readTrim(t, fmt.Sprintf("/proc/%s/cgroup", p["MainPID"])); got != "0::"+p["ControlGroup"] {
		t.Errorf("/proc/%s/cgroup = %q, want 0::%s", p["MainPID"], got, p["ControlGroup"])
	}
}

func TestLingeringUserManager(t *testing.T) {
	requireVM(t)
	if uid := command(t, "id", "-u", "tester"); uid != "1000" {
		t.Fatalf("id -u tester = %s, want 1000", uid)
	}
	if _, err := os.Stat("/var/lib/systemd/linger/tester"); err != nil {
		t.Errorf("linger: %v", err)
	}
	p := show(t, "user@1000.service", "ActiveState", "ControlGroup", "Delegate", "DelegateControllers")
	if p["ActiveState"] != "active" || p["Delegate"] != "yes" {
		t.Fatalf("user@1000.service: %v, want active and delegated", p)
	}
	if p["ControlGroup"] != "/user.slice/user-1000.slice/user@1000.service" {
		t.Errorf("user@1000.service ControlGroup = %s", p["ControlGroup"])
	}
	dir := filepath.Join(cgroupRoot, p["ControlGroup"])
	controllers := strings.Fields(readTrim(t, filepath.Join(dir, "cgroup.controllers")))
	delegated := strings.Fields(p["DelegateControllers"])
	for _, c := range []string{"memory", "pids"} {
		if !contains(controllers, c) || !contains(delegated, c) {
			t.Errorf("%s: %s not delegated (cgroup.controllers %q, DelegateControllers %q)", dir, c, controllers, delegated)
		}
	}
	// The user owns its subtree, as delegation means on v2.
	fi, err := os.Stat(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := fileUID(fi); uid != 1000 {
		t.Errorf("%s/cgroup.procs is owned by uid %d, want 1000", dir, uid)
	}
	for _, file := range []string{"/etc/subuid", "/etc/subgid"} {
		if !hasLinePrefix(t, file, "tester:") {
			t.Errorf("%s has no entry for tester", file)
		}
	}
}

func TestKubeLayout(t *testing.T) {
	requireVM(t)
	uid := os.Getenv("CTOP_TEST_KUBE_POD_UID")
	ctr := os.Getenv("CTOP_TEST_KUBE_CONTAINER")
	if uid == "" || ctr == "" {
		t.Fatal("CTOP_TEST_KUBE_POD_UID or CTOP_TEST_KUBE_CONTAINER unset: provisioning did not finish")
	}
	scope := "cri-containerd-" + ctr + ".scope"
	group := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
		strings.ReplaceAll(uid, "-", "_") + ".slice/" + scope
	p := show(t, scope, "ActiveState", "ControlGroup")
	if p["ActiveState"] != "active" || p["ControlGroup"] != group {
		t.Fatalf("systemctl show %s: %v, want active in %s", scope, p, group)
	}
	procs := readTrim(t, filepath.Join(cgroupRoot, group, "cgroup.procs"))
	if procs == "" {
		t.Fatalf("%s has no processes", group)
	}
	pid := strings.Fields(procs)[0]
	if comm := readTrim(t, "/proc/"+pid+"/comm"); comm != "sleep" {
		t.Errorf("the scope's process %s is %q, want sleep", pid, comm)
	}
	logDir := filepath.Join("/var/log/pods", os.Getenv("CTOP_TEST_KUBE_POD")+"_"+uid, os.Getenv("CTOP_TEST_KUBE_CONTAINER_NAME"))
	if fi, err := os.Stat(logDir); err != nil || !fi.IsDir() {
		t.Errorf("pod log directory %s: %v", logDir, err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasLinePrefix(t *testing.T, file, prefix string) bool {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return true
		}
	}
	return false
}
