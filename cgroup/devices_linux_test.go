package cgroup

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDeviceRuleString(t *testing.T) {
	for _, tc := range []struct {
		r    DeviceRule
		want string
		ok   bool
	}{
		{DenyAllDevices(), "a *:* rwm", true},
		{DeviceRule{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"}, "c 1:3 rwm", true},
		{DeviceRule{Allow: true, Type: 'b', Major: AnyDevice, Minor: AnyDevice, Access: "m"}, "b *:* m", true},
		{DeviceRule{Allow: true, Type: 'c', Major: 136, Minor: AnyDevice, Access: "rw"}, "c 136:* rw", true},
		{DeviceRule{Type: 'x', Major: 1, Minor: 1, Access: "r"}, "x 1:1 r", false},
		{DeviceRule{Type: 'c', Major: 1, Minor: 1, Access: "rx"}, "c 1:1 rx", false},
		{DeviceRule{Type: 'c', Major: 1, Minor: 1}, "c 1:1 ", false},
		{DeviceRule{Type: 'c', Major: -2, Minor: 1, Access: "r"}, "c -2:1 r", false},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
		if err := tc.r.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%s) = %v, want ok %v", tc.want, err, tc.ok)
		}
	}
}

// testRules allow /dev/null and mknod of any character device, and
// nothing else.
func testRules() []DeviceRule {
	return []DeviceRule{
		DenyAllDevices(),
		{Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "rwm"},
		{Allow: true, Type: 'c', Major: AnyDevice, Minor: AnyDevice, Access: "m"},
	}
}

// tryDevices runs script in a shell in the group (placed by place before
// it goes on) and returns its output.
func tryDevices(t *testing.T, script string, place func(pid int) error) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", "read go; "+script+"; true")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if err := place(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	_, _ = in.Write([]byte("\n"))
	in.Close()
	_ = cmd.Wait()
	return out.String()
}

// readNullZero reads /dev/null and /dev/zero.
const readNullZero = `head -c1 /dev/null && echo null ok; head -c1 /dev/zero >/dev/null && echo zero ok`

// checkDenied says whether the output of tryDevices shows /dev/null
// allowed and /dev/zero refused by the kernel.
func checkDenied(t *testing.T, out string) {
	t.Helper()
	if !strings.Contains(out, "null ok") {
		t.Errorf("/dev/null (allowed) could not be read:\n%s", out)
	}
	if strings.Contains(out, "zero ok") || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("/dev/zero (not allowed) was not refused with EPERM:\n%s", out)
	}
}

// TestDevicesLive writes device rules as a group is made, where this host
// keeps them (a v1 devices hierarchy, else a v2 device program), and
// shows a process in the group refused a device the rules leave out.
func TestDevicesLive(t *testing.T) {
	f, parent := liveFS(t)
	path := parent + "/g"
	m, err := Create(f, path, Resources{Devices: testRules()})
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := f.Hierarchy("devices"); ok && h.Version == 1 {
		dir, _ := m.Dir("devices")
		b, err := os.ReadFile(filepath.Join(dir, "devices.list"))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSpace(string(b)), "\n")
		slices.Sort(got)
		if d := cmp.Diff([]string{"c *:* m", "c 1:3 rwm"}, got); d != "" {
			t.Errorf("devices.list (-want +got):\n%s", d)
		}
	} else {
		dir, ok := m.Dir("")
		if !ok {
			t.Fatal("no v2 directory and no v1 devices hierarchy")
		}
		if n, err := DevicePrograms(dir); err != nil || n != 1 {
			t.Errorf("device programs attached to %s: %d, %v; want 1", dir, n, err)
		}
	}
	checkDenied(t, tryDevices(t, readNullZero, m.AddProc))
	// Rules are the group's from its start: a later change is refused
	// (on v2 a second program would only add to the first).
	if err := m.Update(Resources{Devices: testRules()}); err == nil {
		t.Error("Update with device rules: no error")
	}
}

// TestDeviceFilterV2 attaches device programs to a group of the v2 tree,
// a hybrid host's too, so that the path a pure v2 host takes is run on
// both layouts: the kernel applies a v2 device program whatever the v1
// hierarchies say.
func TestDeviceFilterV2(t *testing.T) {
	f, parent := liveFS(t)
	root, ok := f.Dir("", "/")
	if !ok {
		t.Skip("no v2 tree")
	}
	mk := func(name string, rules []DeviceRule) func(int) error {
		dir := filepath.Join(root, parent, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Remove(dir); _ = os.Remove(filepath.Dir(dir)) })
		if err := attachDeviceFilter(dir, rules); err != nil {
			t.Fatal(err)
		}
		if n, err := DevicePrograms(dir); err != nil || n != 1 {
			t.Errorf("device programs attached to %s: %d, %v; want 1", dir, n, err)
		}
		return func(pid int) error {
			return os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
		}
	}
	checkDenied(t, tryDevices(t, readNullZero, mk("a", testRules())))
	// A rule that allows reading alone: an open for reading and writing
	// is refused, as v1 refuses it.
	out := tryDevices(t, `head -c1 /dev/null && echo read ok; exec 3<>/dev/null && echo rw ok; echo >/dev/null && echo write ok`,
		mk("b", []DeviceRule{DenyAllDevices(), {Allow: true, Type: 'c', Major: 1, Minor: 3, Access: "r"}}))
	if !strings.Contains(out, "read ok") || strings.Contains(out, "rw ok") || strings.Contains(out, "write ok") {
		t.Errorf("with c 1:3 r, want /dev/null readable only:\n%s", out)
	}
}
