package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/systemd"
)

func TestCgroupManagerOption(t *testing.T) {
	for _, v := range []string{"systemd", "cgroupfs"} {
		r, err := ParseRun(Given{"cgroup-manager": {v}})
		if err != nil || r.Spec.CgroupManager != v {
			t.Errorf("--cgroup-manager %s: %q, %v", v, r.Spec.CgroupManager, err)
		}
	}
	_, err := ParseRun(Given{"cgroup-manager": {"upstart"}})
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Name != "cgroup-manager" || err.Error() != "--cgroup-manager upstart: want systemd or cgroupfs" {
		t.Errorf("--cgroup-manager upstart: %v", err)
	}
}

func TestValidateParentByManager(t *testing.T) {
	valid := func(s Spec) error {
		if err := s.normalize(); err != nil {
			return err
		}
		return s.Validate()
	}
	s := Spec{Name: "web", Command: []string{"true"}, CgroupManager: ManagerSystemd, CgroupParent: "/ctop"}
	err := valid(s)
	if err == nil || !strings.Contains(err.Error(), "--cgroup-parent /ctop") || strings.Contains(err.Error(), "\n") {
		t.Errorf("systemd with a path parent: %v, want one line naming --cgroup-parent", err)
	}
	s.CgroupParent = "ctop.slice"
	if err := valid(s); err != nil {
		t.Errorf("systemd in ctop.slice: %v", err)
	}
	s = Spec{Name: "web", Command: []string{"true"}, CgroupManager: ManagerCgroupfs, CgroupParent: "ctop.slice"}
	if err := valid(s); err == nil {
		t.Error("cgroupfs with a slice parent: no error")
	}
	s = Spec{Name: "web", Command: []string{"true"}, CgroupManager: ManagerSystemd}
	if err := s.normalize(); err != nil || s.CgroupParent != systemd.DefaultSlice || s.CgroupPath() != "/ctop.slice/ctop-"+s.Name+".scope" {
		t.Errorf("systemd defaults: parent %q path %q, %v", s.CgroupParent, s.CgroupPath(), err)
	}
}

// TestChooseManager on this host's layout and on the fixtures': systemd
// only where it is usable, cgroupfs otherwise, and a cgroup path given as
// the parent keeps cgroupfs.
func TestChooseManager(t *testing.T) {
	f, err := cgroup.Open("../cgroup/testdata/hybrid")
	if err != nil {
		t.Skip("no hybrid fixture:", err)
	}
	s := Spec{CgroupParent: DefaultCgroupParent}
	if err := s.ChooseManager(f, false); err != nil || s.CgroupManager != ManagerCgroupfs || s.CgroupParent != DefaultCgroupParent {
		t.Errorf("auto on hybrid: %q %q %v, want cgroupfs /ctop", s.CgroupManager, s.CgroupParent, err)
	}
	s = Spec{CgroupManager: ManagerSystemd, CgroupParent: DefaultCgroupParent}
	err = s.ChooseManager(f, false)
	if !errors.Is(err, systemd.ErrUnavailable) || !strings.HasPrefix(err.Error(), "--cgroup-manager systemd: ") {
		t.Errorf("systemd on hybrid: %v, want ErrUnavailable naming the option", err)
	}
	s = Spec{CgroupParent: "/mine"}
	if err := s.ChooseManager(f, true); err != nil || s.CgroupManager != ManagerCgroupfs || s.CgroupParent != "/mine" {
		t.Errorf("auto with parent /mine: %q %q %v", s.CgroupManager, s.CgroupParent, err)
	}
	live, err := cgroup.Open("/")
	if err != nil {
		t.Skip(err)
	}
	s = Spec{CgroupParent: DefaultCgroupParent}
	if err := s.ChooseManager(live, false); err != nil {
		t.Fatal(err)
	}
	want := ManagerCgroupfs
	if systemdUsable(live) == nil {
		want = ManagerSystemd
	}
	if s.CgroupManager != want {
		t.Errorf("auto on this host: %s, want %s", s.CgroupManager, want)
	}
}

// requireSystemd skips unless sandboxes can be scopes here (the systemd
// test VM).
func requireSystemd(tb testing.TB) *cgroup.FS {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root")
	}
	f, err := cgroup.Open("/")
	if err != nil {
		tb.Skip(err)
	}
	if err := systemdUsable(f); err != nil {
		tb.Skip("sandboxes cannot be systemd scopes here:", err)
	}
	return f
}

// TestSystemdScope starts a sandbox as a scope through the package: its
// group is the unit's, device rules hold in it, and nothing is left
// after Wait.
func TestSystemdScope(t *testing.T) {
	f := requireSystemd(t)
	state := t.TempDir()
	const kmsg = "/dev/kmsg"
	if _, err := os.Stat(kmsg); err != nil {
		t.Skip("no /dev/kmsg")
	}
	// kmsg is allowed for reading only: the device program ctop attached
	// to the scope's group refuses the open for writing (EPERM, where a
	// read-only mount would say EROFS).
	spec := Spec{Command: []string{"sh", "-c", "cat /proc/self/cgroup; echo x >" + kmsg},
		Namespaces: DefaultNamespaces(), CgroupManager: ManagerSystemd, StateDir: state, Cgroups: f,
		Devices:   []Device{{Host: kmsg, Container: kmsg, Access: "r"}},
		Resources: cgroup.Resources{PidsMax: ptrLimit(cgroup.LimitOf(10))}}
	var out strings.Builder
	spec.Stdout, spec.Stderr = &out, &out
	sb, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	unit := systemd.UnitName(sb.Name)
	if want := "/ctop.slice/" + unit; sb.Cgroup() != want {
		t.Errorf("Cgroup() = %s, want %s", sb.Cgroup(), want)
	}
	res, err := sb.Wait()
	if err != nil || res.ExitCode == 0 {
		t.Fatalf("Wait: exit %d, %v; want the write refused", res.ExitCode, err)
	}
	if got := out.String(); !strings.HasPrefix(got, "0::/\n") || !strings.Contains(got, "not permitted") {
		t.Errorf("output %q, want 0::/ and the write to %s not permitted", got, kmsg)
	}
	dir := filepath.Join("/sys/fs/cgroup", sb.Cgroup())
	for try := 0; ; try++ {
		units, _ := exec.Command("systemctl", "list-units", "--all", "--plain", "--no-legend", unit).Output()
		_, serr := os.Stat(dir)
		if len(strings.TrimSpace(string(units))) == 0 && serr != nil {
			break
		}
		if try == 50 {
			t.Fatalf("after Wait: unit %q, group %s: %v", units, dir, serr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Errorf("state left: %v", ents)
	}
}

func ptrLimit(l cgroup.Limit) *cgroup.Limit { return &l }

func TestScopeDescription(t *testing.T) {
	long := strings.Repeat("é", 100)
	for _, c := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"sh", "-c", "echo a\nrm -rf x\x1b[2J"}, "ctop sandbox web: sh -c echo a rm -rf x [2J"},
		{[]string{long}, "ctop sandbox web: " + strings.Repeat("é", 53) + "..."},
	} {
		got := scopeDescription(&Spec{Name: "web", Command: c.cmd})
		if got != c.want || len(got) > 128 {
			t.Errorf("scopeDescription(%q) = %q (%d bytes), want %q", c.cmd, got, len(got), c.want)
		}
	}
}
