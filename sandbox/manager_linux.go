package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"unicode"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/systemd"
)

// The cgroup managers, by podman's names for --cgroup-manager.
const (
	// ManagerCgroupfs: ctop makes and removes the group in the cgroup
	// filesystem itself.
	ManagerCgroupfs = "cgroupfs"
	// ManagerSystemd: the group is a transient scope of the caller's
	// systemd manager, its limits unit properties (package systemd).
	ManagerSystemd = "systemd"
)

// ChooseManager settles s.CgroupManager on host f. Asked for systemd, it
// checks that systemd can have the group (its error is one line saying
// why not); asked for nothing, it picks systemd where systemd is the init,
// the host is cgroup v2 alone and the caller's manager answers, as podman
// and runc do, and cgroupfs elsewhere or when parentGiven names a cgroup
// path (--cgroup-parent /x: a place in the tree, not a slice). Under
// systemd a parent not given becomes systemd.DefaultSlice.
func (s *Spec) ChooseManager(f *cgroup.FS, parentGiven bool) error {
	// A parent given stays as given: a path is then refused (Validate),
	// not silently replaced.
	toSlice := func() {
		if !parentGiven || s.CgroupParent == "" {
			s.CgroupParent = systemd.DefaultSlice
		}
	}
	switch s.CgroupManager {
	case ManagerCgroupfs:
		return nil
	case ManagerSystemd:
		if err := systemdUsable(f); err != nil {
			return fmt.Errorf("--cgroup-manager systemd: %w", err)
		}
		toSlice()
		return nil
	case "":
	default:
		return fmt.Errorf("--cgroup-manager %s: want systemd or cgroupfs", s.CgroupManager)
	}
	s.CgroupManager = ManagerCgroupfs
	if parentGiven && strings.HasPrefix(s.CgroupParent, "/") {
		return nil
	}
	if systemdUsable(f) == nil {
		s.CgroupManager = ManagerSystemd
		toSlice()
	}
	return nil
}

// UserManagerGroup is the group of the calling user's systemd manager
// (user@UID.service), when systemd can make the user's sandboxes there:
// the subtree a user who is not root may launch in and change limits
// under, even from a session whose own group is root's.
func UserManagerGroup(f *cgroup.FS) (string, bool) {
	if systemdUsable(f) != nil {
		return "", false
	}
	uid := os.Geteuid()
	p := fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service", uid, uid)
	dir, ok := f.Dir("", p)
	if !ok {
		return "", false
	}
	var st unix.Stat_t
	if unix.Stat(dir, &st) != nil || st.Uid != uint32(uid) {
		return "", false
	}
	return p, true
}

// systemdUsable says why systemd cannot manage sandboxes' groups on host
// f, or nil when it can.
func systemdUsable(f *cgroup.FS) error {
	if !systemd.Booted() {
		return fmt.Errorf("%w: systemd is not the init (no /run/systemd/system)", systemd.ErrUnavailable)
	}
	if f.Mode() != cgroup.ModeUnified {
		return fmt.Errorf("%w: the host's cgroups are %s, and ctop uses systemd on cgroup v2 alone", systemd.ErrUnavailable, f.Mode())
	}
	return systemd.Available()
}

// Manager is the cgroup manager of the sandbox st records.
func (st *State) Manager() string {
	if st.CgroupManager == "" {
		return ManagerCgroupfs
	}
	return st.CgroupManager
}

// startScope makes the sandbox's scope around its waiting init (sb.Pid)
// and takes its group: systemd sets the limits it has properties for,
// ctop attaches the device rules (Delegate=yes lets it) before the init
// goes on.
func (sb *Sandbox) startScope(res cgroup.Resources) error {
	spec := &sb.spec
	c, err := sb.systemdConn()
	if err != nil {
		return err
	}
	devices := res.Devices
	res.Devices = nil
	if l := res.PidsMax; l != nil && l.Finite() {
		// The scope is made around the init, a Go program whose runtime
		// threads count against TasksMax until it executes the command:
		// a small --pids-limit would stop its start. The scope gets room
		// for them, and the limit itself once they are gone.
		loose := cgroup.LimitOf(l.V + initThreads())
		res.PidsMax, sb.pidsAfterExec = &loose, l
	}
	sig, timeout := StopOptions{}.resolve(sb.state)
	// Stopped again by a failed start's teardown, unless the name was
	// another unit's.
	sb.scopeAsked = true
	path, err := c.StartScope(context.Background(), systemd.Scope{
		Unit: sb.state.Unit, Slice: spec.CgroupParent, PID: sb.Pid,
		Description: scopeDescription(spec),
		Resources:   res, KillSignal: int(sig), StopTimeout: timeout,
	})
	if errors.Is(err, systemd.ErrUnitExists) {
		sb.scopeAsked = false
	}
	if err != nil {
		return err
	}
	sb.state.Cgroup, sb.cgroupPath = path, path
	mgr, err := cgroup.Load(sb.fs, path)
	if err != nil {
		return fmt.Errorf("scope %s: %w", sb.state.Unit, err)
	}
	sb.mgr = mgr
	if os.Geteuid() != 0 && !spec.Resources.Empty() {
		// A user manager's scope has the controllers root delegated to
		// users; systemd would set the others' properties to no effect.
		cs, err := DelegatedControllers(sb.fs, path)
		if err != nil {
			return err
		}
		if err := CheckDelegated(cs, spec); err != nil {
			return err
		}
	}
	// Best effort: without it the report may lack what the kernel
	// counted, no more.
	if w, err := mgr.WatchFinal(spec.Stats); err == nil {
		sb.watch = w
	}
	if devices != nil {
		if err := mgr.SetDevices(devices); err != nil {
			return fmt.Errorf("scope %s: %w", sb.state.Unit, err)
		}
	}
	return nil
}

// initThreads bounds the threads of the init's Go runtime: one per P
// (GOMAXPROCS, the CPUs by default) and a few of its own (sysmon, the
// template thread, blocking system calls).
func initThreads() uint64 { return uint64(runtime.NumCPU()) + 8 }

// tightenPids sets the scope's pids limit, which startScope left loose
// for the init's threads, once the init has executed the command.
func (sb *Sandbox) tightenPids() error {
	if sb.pidsAfterExec == nil {
		return nil
	}
	c, err := sb.systemdConn()
	if err != nil {
		return err
	}
	return c.SetResources(context.Background(), sb.state.Unit, cgroup.Resources{PidsMax: sb.pidsAfterExec})
}

// systemdConn is the connection to the caller's manager, made once (by
// prepare, while the state is written).
func (sb *Sandbox) systemdConn() (*systemd.Conn, error) {
	if sb.sd == nil {
		c, err := systemd.Connect(context.Background())
		if err != nil {
			return nil, err
		}
		sb.sd = c
	}
	return sb.sd, nil
}

// stopScope kills what is left in the sandbox's scope (the command's
// processes are usually gone with its init) and stops the scope, which
// systemd then collects with its group.
func (sb *Sandbox) stopScope() error {
	var errs []error
	if sb.mgr != nil {
		if err := sb.mgr.Kill(); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if c, err := sb.systemdConn(); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, c.Stop(context.Background(), sb.state.Unit))
		c.Close()
		sb.sd = nil
	}
	return errors.Join(errs...)
}

// stopUnit removes the scope of a sandbox whose ctop was killed: what is
// left in its group is killed, and the unit stopped (nothing when systemd
// collected it already, its processes gone).
func stopUnit(f *cgroup.FS, st *State) error {
	c, err := systemd.Connect(context.Background())
	if err != nil {
		return fmt.Errorf("sandbox %s: %w", st.Name, err)
	}
	defer c.Close()
	if path, err := c.ControlGroup(context.Background(), st.Unit); err == nil {
		if err := removeGroupProcs(f, path); err != nil {
			return err
		}
	}
	return c.Stop(context.Background(), st.Unit)
}

// removeGroupProcs kills every process of the group at path, if it is
// still there.
func removeGroupProcs(f *cgroup.FS, path string) error {
	m, err := cgroup.Load(f, path)
	if errors.Is(err, cgroup.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := m.Kill(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// scopeDescription is the scope's Description=: the sandbox's name and
// command, which any user may read over D-Bus and systemctl prints on
// one line, so without control characters and cut at 128 bytes.
func scopeDescription(spec *Spec) string {
	d := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, "ctop sandbox "+spec.Name+": "+strings.Join(spec.Command, " "))
	if len(d) > 128 {
		d = strings.ToValidUTF8(d[:125], "") + "..."
	}
	return d
}
