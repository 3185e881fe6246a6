package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
)

// TestDevicesCapsBothPaths tries, from inside a sandbox started by a
// launch and by the re-executed init, what a hostile root process would
// do with devices and capabilities (make a node of the host's disk and
// open it, open a device not allowed, chown with no capability, open a raw
// socket with CAP_NET_RAW dropped), and the positive effects of --device,
// --cap-add and --cap-drop.
func TestDevicesCapsBothPaths(t *testing.T) {
	e := newTestEnv(t)
	if !haveClone3() || !directLaunchArch {
		t.Skip("no launch here: every sandbox takes the re-executed init")
	}
	dir := t.TempDir()
	if disk := os.Getenv("CTOP_TEST_DISKDIR"); disk != "" {
		// The VMs' /tmp is mounted nodev; their scratch disk is not.
		var err error
		if dir, err = os.MkdirTemp(disk, "devcaps"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil {
		t.Fatal(err)
	}
	// A node made on a nodev mount could not be opened whatever the
	// devices cgroup says; the mknod attempts need one without.
	nodev := sfs.Flags&unix.ST_NODEV != 0
	file := filepath.Join(dir, "owned")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const kmsg = "/dev/kmsg" // opened write-only: no capability needed, nothing written
	if _, err := os.Stat(kmsg); err != nil {
		t.Skip("no /dev/kmsg")
	}
	// The sandbox's /dev is its own: the node's mount point is made there.
	kmsgAt := "/dev/ctop-kmsg"
	def := DefaultCapMask()
	caps := func(eff uint64) string {
		return fmt.Sprintf("CapInh: 0000000000000000 CapEff: %016x CapBnd: %016x", eff, eff)
	}
	every := ownBounding()
	type row struct {
		name string
		mod  func(*Spec)
		try  []string
		want []string
	}
	rows := []row{
		{"default devices", nil,
			[]string{"open:/dev/null", "openrw:/dev/zero", "open:/dev/urandom", "openrw:/dev/full", "openw:" + kmsg},
			// The sandbox's own /dev has no kmsg, as docker's has none;
			// the devices cgroup's refusals are the mknod rows'.
			[]string{"open ok", "openrw ok", "open ok", "openrw ok", "openw ENOENT"}},
		{"--device", func(s *Spec) { s.Devices = []Device{{Host: kmsg, Container: kmsg, Access: "rwm"}} },
			[]string{"openw:" + kmsg}, []string{"openw ok"}},
		{"--device read only", func(s *Spec) { s.Devices = []Device{{Host: kmsg, Container: kmsg, Access: "r"}} },
			[]string{"openw:" + kmsg}, []string{"openw EPERM"}},
		{"--device at another path", func(s *Spec) { s.Devices = []Device{{Host: kmsg, Container: kmsgAt, Access: "w"}} },
			[]string{"openw:" + kmsgAt}, []string{"openw ok"}},
		{"default capabilities", nil, []string{"caps", "raw"}, []string{caps(def), "raw ok"}},
		{"--cap-drop ALL", func(s *Spec) { s.CapDrop = []string{"ALL"} },
			[]string{"caps", "chown:" + file}, []string{caps(0), "chown EPERM"}},
		{"--cap-add SYS_ADMIN", func(s *Spec) { s.CapAdd = []string{"sys_admin"} },
			[]string{"caps"}, []string{caps(def | 1<<unix.CAP_SYS_ADMIN)}},
		{"--cap-drop NET_RAW", func(s *Spec) { s.CapDrop = []string{"CAP_NET_RAW"} },
			[]string{"caps", "raw"}, []string{caps(def &^ (1 << unix.CAP_NET_RAW)), "raw EPERM"}},
		{"--cap-add ALL --cap-drop CHOWN", func(s *Spec) { s.CapAdd, s.CapDrop = []string{"ALL"}, []string{"chown"} },
			[]string{"caps", "chown:" + file}, []string{caps(every &^ (1 << unix.CAP_CHOWN)), "chown EPERM"}},
		{"--cap-drop ALL --cap-add CHOWN", func(s *Spec) { s.CapAdd, s.CapDrop = []string{"CHOWN"}, []string{"ALL"} },
			[]string{"caps", "chown:" + file}, []string{caps(1 << unix.CAP_CHOWN), "chown ok"}},
	}
	if nodev {
		t.Logf("%s is on a nodev mount: the mknod attempts are left out", dir)
	} else {
		// Neither needs a capability to open (tty1, unlike /dev/mem, needs
		// none): EPERM is the devices cgroup's; without it the open
		// succeeds or fails for want of the device (ENXIO).
		sda, tty := filepath.Join(dir, "sda"), filepath.Join(dir, "tty1")
		rows = append(rows, row{"mknod of a disk and a tty", nil,
			[]string{"mknod:" + sda + ":b:8:0", "open:" + sda, "mknod:" + tty + ":c:4:1", "open:" + tty},
			// Made (b *:* m and c *:* m, with CAP_MKNOD) but not opened.
			[]string{"mknod ok", "open EPERM", "mknod ok", "open EPERM"}})
	}
	for _, r := range rows {
		for _, viaInit := range []bool{false, true} {
			s := e.helper("try", r.try...)
			// dir, under the host's /tmp, is seen through a -v.
			s.Binds = append(s.Binds, Bind{Source: dir, Dest: dir})
			s.viaInit = viaInit
			if r.mod != nil {
				r.mod(&s)
			}
			if canLaunch(&s) == viaInit {
				t.Fatalf("%s: canLaunch %v with viaInit %v", r.name, !viaInit, viaInit)
			}
			res, out := e.run(s)
			if got, want := strings.TrimRight(out, "\n"), strings.Join(r.want, "\n"); res.ExitCode != 0 || got != want {
				t.Errorf("%s (re-executed init %v): exit %d,\n%s\nwant\n%s", r.name, viaInit, res.ExitCode, got, want)
			}
		}
	}
	e.assertGone()
}

// TestDevicesCgroup checks where a sandbox's device rules are: the v1
// devices group's list is docker's allow-list (with a --device), or the
// v2 group has a device program attached.
func TestDevicesCgroup(t *testing.T) {
	e := newTestEnv(t)
	for _, viaInit := range []bool{false, true} {
		s := e.spec("sleep", "60")
		s.viaInit = viaInit
		s.Devices = []Device{{Host: "/dev/null", Container: "/dev/null", Access: "r"}}
		sb, err := Start(s)
		if err != nil {
			t.Fatal(err)
		}
		path := s.CgroupParent + "/" + sb.Name
		if h, ok := e.fs.Hierarchy("devices"); ok && h.Version == 1 {
			got := strings.Split(e.cgroupFile("devices", path, "devices.list"), "\n")
			var want []string
			for _, r := range defaultDeviceRules() {
				if r.Allow && !slices.Contains(want, r.String()) {
					want = append(want, r.String())
				}
			}
			// c 1:3 r merges into the rwm already allowed.
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("re-executed init %v: devices.list\n%s\nwant\n%s", viaInit, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		} else {
			dir, ok := e.fs.Dir("", path)
			if !ok {
				t.Fatal("no v2 group and no v1 devices hierarchy")
			}
			if n, err := cgroup.DevicePrograms(dir); err != nil || n != 1 {
				t.Errorf("re-executed init %v: %d device programs on %s (%v), want 1", viaInit, n, dir, err)
			}
		}
		if _, err := Stop(e.fs, e.state, sb.Name, killNow()); err != nil {
			t.Fatal(err)
		}
		if _, err := sb.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	e.assertGone()
}

func TestParseDevice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Device
		err  bool
	}{
		{"/dev/kmsg", Device{"/dev/kmsg", "/dev/kmsg", "rwm"}, false},
		{"/dev/kmsg:r", Device{"/dev/kmsg", "/dev/kmsg", "r"}, false},
		{"/dev/kmsg:/dev/k", Device{"/dev/kmsg", "/dev/k", "rwm"}, false},
		{"/dev/kmsg:/dev/k:rw", Device{"/dev/kmsg", "/dev/k", "rw"}, false},
		{"kmsg", Device{}, true},
		{"/dev/kmsg:/dev/k:rw:x", Device{}, true},
		{"/dev/kmsg:k", Device{}, true},
	} {
		got, err := ParseDevice(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseDevice(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestCapOptions: names as docker takes them, docker's rules for ALL, and
// an unknown name refused in one line that names the option and value.
func TestCapOptions(t *testing.T) {
	def := DefaultCapMask()
	every := ownBounding()
	for _, tc := range []struct {
		add, drop []string
		want      uint64
	}{
		{nil, nil, def},
		{[]string{"NET_ADMIN"}, nil, def | 1<<unix.CAP_NET_ADMIN},
		{[]string{"cap_net_admin"}, nil, def | 1<<unix.CAP_NET_ADMIN},
		{nil, []string{"Chown", "CAP_MKNOD"}, def &^ (1<<unix.CAP_CHOWN | 1<<unix.CAP_MKNOD)},
		{[]string{"all"}, nil, every},
		{[]string{"ALL"}, []string{"NET_RAW"}, every &^ (1 << unix.CAP_NET_RAW)},
		{[]string{"SYS_PTRACE"}, []string{"ALL"}, 1 << unix.CAP_SYS_PTRACE},
		// Not ALL: dropped from the defaults, then added.
		{[]string{"KILL"}, []string{"KILL"}, def},
	} {
		g := Given{}
		if tc.add != nil {
			g["cap-add"] = tc.add
		}
		if tc.drop != nil {
			g["cap-drop"] = tc.drop
		}
		r, err := ParseRun(g)
		if err != nil {
			t.Fatalf("add %v drop %v: %v", tc.add, tc.drop, err)
		}
		if got, err := r.Spec.capMask(); err != nil || got != tc.want {
			t.Errorf("add %v drop %v: %016x, %v; want %016x", tc.add, tc.drop, got, err, tc.want)
		}
	}
	for _, opt := range []string{"cap-add", "cap-drop"} {
		_, err := ParseRun(Given{opt: {"NET_FLY"}})
		var oe OptionErrors
		if !errors.As(err, &oe) || !strings.HasPrefix(err.Error(), "--"+opt+" NET_FLY: unknown capability") || strings.Contains(err.Error(), "\n") {
			t.Errorf("--%s NET_FLY: %v, want one line naming the option and value", opt, err)
		}
	}
	// A capability ctop itself lacks cannot be given (some hosts run ctop
	// with a bounding set short of the kernel's).
	for c := 0; c <= lastCap(); c++ {
		if every&(1<<uint(c)) == 0 {
			s := Spec{CapAdd: []string{capNames()[c]}}
			if _, err := s.capMask(); err == nil || !strings.Contains(err.Error(), "lacks") {
				t.Errorf("--cap-add %s outside ctop's bounding set: %v", capNames()[c], err)
			}
		}
	}
	s := Spec{Command: []string{"true"}, Name: "x", Network: NetworkHost, CapDrop: []string{"nope"}}
	if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), "--cap-drop nope: ") {
		t.Errorf("Validate with --cap-drop nope: %v", err)
	}
	for _, v := range []string{"/no/such/dev", "/etc/passwd", "rel"} {
		if _, err := ParseRun(Given{"device": {v}}); err == nil || !strings.HasPrefix(err.Error(), "--device "+v+": ") {
			t.Errorf("--device %s: %v, want an error naming the option and value", v, err)
		}
	}
}

// TestExecKeepsCapsAndDevices: a command run by ctop exec has the
// sandbox's capabilities (here none) and its device rules, not the
// defaults.
func TestExecKeepsCapsAndDevices(t *testing.T) {
	e := newTestEnv(t)
	if _, err := os.Stat("/dev/kmsg"); err != nil {
		t.Skip("no /dev/kmsg")
	}
	// The helper's binding of the test binary, which exec runs.
	s := e.helper("sleep")
	s.Command, s.Env = []string{"sleep", "60"}, nil
	// Detached: its state is written before Start returns.
	s.CapDrop, s.Detach, s.Remove = []string{"ALL"}, true, true
	// Readable only: exec's command must meet the same rule.
	s.Devices = []Device{{Host: "/dev/kmsg", Container: "/dev/kmsg", Access: "r"}}
	sb, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	states, err := List(e.state)
	if err != nil || len(states) != 1 {
		t.Fatalf("ls: %+v, %v", states, err)
	}
	var out strings.Builder
	code, err := Exec(e.fs, states[0], ExecOptions{Command: []string{e.exe, "caps", "openw:/dev/kmsg"},
		Env: []string{envHelper + "=try"}, Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("exec: %d %v %s", code, err, out.String())
	}
	want := "CapInh: 0000000000000000 CapEff: 0000000000000000 CapBnd: 0000000000000000\nopenw EPERM"
	if got := strings.TrimSpace(out.String()); got != want {
		t.Errorf("exec'd command:\n%s\nwant\n%s", got, want)
	}
	if _, err := Stop(e.fs, e.state, sb.Name, killNow()); err != nil {
		t.Fatal(err)
	}
	_, _ = sb.Wait()
	e.assertGone()
}

// TestPlanDevicesCaps: a --device is a step of the mounts, after the
// binds and before docker's masks, on both starts; --cap-drop sets the
// capset step's mask and the bounding set's drops.
func TestPlanDevicesCaps(t *testing.T) {
	s := Spec{Command: []string{"sh"}, Namespaces: DefaultNamespaces(), Binds: []Bind{{Source: "/srv", Dest: "/srv"}},
		Devices: []Device{{Host: "/dev/kmsg", Container: "/dev/k", Access: "r"}}, CapDrop: []string{"ALL"}, CapAdd: []string{"KILL"}}
	for _, v := range []via{viaLaunch, viaInit} {
		p := buildPlan(&s, planEnv{via: v, cwd: "/"})
		names := stepNames(p.steps)
		i, b := slices.Index(names, "--device /dev/kmsg:/dev/k"), slices.Index(names, "-v /srv:/srv")
		m := slices.IndexFunc(names, func(n string) bool { return strings.HasPrefix(n, "mask ") || strings.HasPrefix(n, "read-only ") })
		if i < 0 || i < b || (m >= 0 && i > m) {
			t.Errorf("via %d: --device at %d, bind at %d, first mask at %d:\n%s", v, i, b, m, strings.Join(names, "\n"))
		}
		drops := 0
		for _, st := range p.steps {
			switch st.kind {
			case stepCapset:
				if st.mask != 1<<unix.CAP_KILL {
					t.Errorf("via %d: capset mask %x, want only CAP_KILL", v, st.mask)
				}
			case stepCapDrop:
				drops++
			}
		}
		if drops != lastCap() {
			t.Errorf("via %d: %d bounding drops, want %d (all but CAP_KILL)", v, drops, lastCap())
		}
	}
}

// TestDeviceInRootfs: with a root of its own, --device binds the host's
// node at the path asked for in the sandbox's /dev, and a node the
// sandbox makes of the same device stays unopenable.
func TestDeviceInRootfs(t *testing.T) {
	e := newTestEnv(t)
	if _, err := os.Stat("/dev/kmsg"); err != nil {
		t.Skip("no /dev/kmsg")
	}
	root := busyboxRootfs(t)
	// "true >" opens for writing and writes nothing.
	// /own is tty1, which needs no capability to open: EPERM is the
	// devices cgroup's.
	s := e.spec("/bin/sh", "-c", `ls -l /dev/xkmsg | cut -c1; true > /dev/xkmsg && echo bound ok
mknod /own c 4 1 && echo mknod ok; true > /own || echo own refused; true > /dev/null && echo null ok`)
	s.Rootfs = root
	s.Devices = []Device{{Host: "/dev/kmsg", Container: "/dev/xkmsg", Access: "w"}}
	res, out := e.run(s)
	want := "c\nbound ok\nmknod ok\nown refused\nnull ok"
	// On a rootfs mounted nodev (a VM's /tmp) the node is refused by the
	// mount (EACCES) before the devices cgroup; elsewhere by the cgroup.
	refusal := "Operation not permitted"
	var sfs unix.Statfs_t
	if err := unix.Statfs(root, &sfs); err == nil && sfs.Flags&unix.ST_NODEV != 0 {
		refusal = "Permission denied"
	}
	if got := strings.TrimSpace(out); res.ExitCode != 0 || !strings.HasPrefix(got, "c\nbound ok\nmknod ok\n") ||
		!strings.Contains(got, refusal) || !strings.HasSuffix(got, "own refused\nnull ok") {
		t.Errorf("exit %d:\n%s\nwant (with the shell's EPERM message)\n%s", res.ExitCode, got, want)
	}
	e.assertGone()
}
