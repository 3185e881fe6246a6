package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
)

// UserPlacement finds where a user who is not root may launch sandboxes:
// under the highest group on the path of the caller's own v2 cgroup that
// the user owns and may write (a subtree delegated to them, such as
// systemd's user@UID.service), with state under $XDG_RUNTIME_DIR. Such
// sandboxes also need a user namespace: the kernel lets an unprivileged
// process create the other namespaces only inside one of its own.
func UserPlacement(f *cgroup.FS) (cgroupParent, stateDir string, err error) {
	uid := os.Geteuid()
	if f.Mode() != cgroup.ModeUnified {
		return "", "", fmt.Errorf("launching a sandbox as uid %d needs a cgroup v2 host with a delegated subtree; this host's cgroups are %s: run ctop as root", uid, f.Mode())
	}
	best, err := DelegatedRoot(f)
	if err != nil {
		return "", "", err
	}
	return filepath.Join(best, "ctop"), UserStateDir(), nil
}

// DelegatedRoot is the highest group on the caller's own cgroup path that
// the caller owns and may write: the root of the subtree delegated to it.
// The groups under it are the caller's to make, limit and remove; its own
// limits are its parent's (systemd's) to set.
func DelegatedRoot(f *cgroup.FS) (string, error) {
	uid := os.Geteuid()
	own, err := f.ProcessCgroup(os.Getpid(), "")
	if err != nil {
		return "", err
	}
	best := ""
	for p := filepath.Clean(own); p != "/" && p != "."; p = filepath.Dir(p) {
		dir, ok := f.Dir("", p)
		if !ok {
			break
		}
		var st unix.Stat_t
		if unix.Stat(dir, &st) != nil || st.Uid != uint32(uid) ||
			unix.Access(filepath.Join(dir, "cgroup.subtree_control"), unix.W_OK) != nil ||
			unix.Access(filepath.Join(dir, "cgroup.procs"), unix.W_OK) != nil {
			break
		}
		best = p
	}
	if best == "" {
		return "", fmt.Errorf("no cgroup subtree is delegated to uid %d (own cgroup %s): run ctop as root, or under a systemd user session, which delegates user@%d.service", uid, own, uid)
	}
	return best, nil
}

// UserStateDir is where a user who is not root keeps sandbox state:
// $XDG_RUNTIME_DIR/ctop, else /run/user/UID/ctop.
func UserStateDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "ctop")
	}
	return filepath.Join("/run/user", strconv.Itoa(os.Geteuid()), "ctop")
}

// DelegatedControllers returns the controllers a group made under parent
// may have: the cgroup.controllers of parent, or of its nearest ancestor
// that exists (parent may be ctop's own, made with the first sandbox).
func DelegatedControllers(f *cgroup.FS, parent string) ([]string, error) {
	for p := filepath.Clean("/" + parent); ; p = filepath.Dir(p) {
		dir, ok := f.Dir("", p)
		if !ok {
			return nil, fmt.Errorf("delegated controllers of %s: no cgroup v2 hierarchy", parent)
		}
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		if err == nil {
			return strings.Fields(string(b)), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || p == "/" {
			return nil, fmt.Errorf("delegated controllers of %s: %w", parent, err)
		}
	}
}

// CheckUserParent refuses a --cgroup-parent outside the subtree delegated
// to the caller, who is not root: the kernel would refuse to make or move
// into a group there, after the user namespace and state were made.
func CheckUserParent(f *cgroup.FS, parent string) error {
	root, err := DelegatedRoot(f)
	if err != nil {
		return err
	}
	p := filepath.Clean("/" + parent)
	if p != root && !strings.HasPrefix(p, root+"/") {
		return fmt.Errorf("--cgroup-parent %s: outside the subtree delegated to uid %d (%s): name a group under it", parent, os.Geteuid(), root)
	}
	return nil
}

// checkUser refuses, for a caller who is not root, what its sandbox cannot
// have (checkRootless) and limits whose controllers the parent lacks
// (CheckDelegated).
func (s *Spec) checkUser() error {
	if err := checkRootless(s, os.Geteuid()); err != nil {
		return err
	}
	if s.Resources.Empty() || s.systemd() {
		// A scope of the user's manager is checked once it exists
		// (startScope): its group's controllers are the delegated ones.
		return nil
	}
	f := s.Cgroups
	if f == nil {
		var err error
		if f, err = cgroup.Open("/"); err != nil {
			return err
		}
	}
	if f.Mode() != cgroup.ModeUnified {
		// UserPlacement refused such a host already; on v1 no
		// hierarchy is the user's.
		return nil
	}
	cs, err := DelegatedControllers(f, s.CgroupParent)
	if err != nil {
		return err
	}
	return CheckDelegated(cs, s)
}
