package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

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
	own, err := f.ProcessCgroup(os.Getpid(), "")
	if err != nil {
		return "", "", err
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
		return "", "", fmt.Errorf("no cgroup subtree is delegated to uid %d (own cgroup %s): run ctop as root, or under a systemd user session, which delegates user@%d.service", uid, own, uid)
	}
	return filepath.Join(best, "ctop"), UserStateDir(), nil
}

// UserStateDir is where a user who is not root keeps sandbox state:
// $XDG_RUNTIME_DIR/ctop, else /run/user/UID/ctop.
func UserStateDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "ctop")
	}
	return filepath.Join("/run/user", strconv.Itoa(os.Geteuid()), "ctop")
}
