package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"
)

// A user namespace that root makes maps its root to an unprivileged range
// of the host's ids, as docker's --userns-remap does: root in the sandbox
// is then a nobody on the host's files. The range is the subordinate one
// of the name remapName in /etc/subuid and /etc/subgid (subuid(5)), made
// there when absent, as docker makes its "dockremap" entries: the first
// remapSize ids above every range the file holds, and above remapFloor.
// Only the entries are made, no user of that name: root writes the maps
// itself and needs no newuidmap(1).
const (
	remapName  = "ctop"
	remapSize  = 65536
	remapFloor = 100000
	// DefaultSubUIDFile and DefaultSubGIDFile are where the ranges are.
	DefaultSubUIDFile = "/etc/subuid"
	DefaultSubGIDFile = "/etc/subgid"
)

// idMaps returns the uid and gid maps of the sandbox's user namespace:
// those the spec gives (--uidmap, --gidmap), or for root ctop's
// subordinate ranges, or for any other user its own ids as root (the
// only map the kernel lets it write).
func (s *Spec) idMaps() (uids, gids []IDMap, err error) {
	if len(s.UIDMap) > 0 {
		return s.UIDMap, s.GIDMap, nil
	}
	if os.Geteuid() != 0 {
		return []IDMap{{0, uint32(os.Geteuid()), 1}}, []IDMap{{0, uint32(os.Getegid()), 1}}, nil
	}
	u, err := remapRange(s.SubUIDFile)
	if err != nil {
		return nil, nil, err
	}
	g, err := remapRange(s.SubGIDFile)
	if err != nil {
		return nil, nil, err
	}
	return []IDMap{u}, []IDMap{g}, nil
}

// remapRange returns remapName's range in the subordinate id file path,
// adding one when it has none. The file is replaced whole (a new file
// renamed over it), under an exclusive lock that another ctop takes too,
// so a reader never sees half a line and two ctops never add two ranges.
func remapRange(path string) (IDMap, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
		if err != nil {
			return IDMap{}, fmt.Errorf("subordinate ids: %w", err)
		}
		m, retry, err := remapLocked(f, path)
		f.Close()
		if !retry {
			return m, err
		}
	}
}

// remapLocked is remapRange holding the lock on f; retry: the file was
// replaced while it waited, so the lock is on a file no longer there.
func remapLocked(f *os.File, path string) (m IDMap, retry bool, err error) {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return IDMap{}, false, fmt.Errorf("subordinate ids: lock %s: %w", path, err)
	}
	var held, now unix.Stat_t
	if unix.Fstat(int(f.Fd()), &held) != nil || unix.Stat(path, &now) != nil || held.Ino != now.Ino || held.Dev != now.Dev {
		return IDMap{}, true, nil
	}
	ids, err := user.ParseSubIDFile(path)
	if err != nil {
		return IDMap{}, false, fmt.Errorf("subordinate ids: read %s: %w", path, err)
	}
	next := int64(remapFloor)
	for _, id := range ids {
		if id.Name == remapName && id.Count >= remapSize && id.SubID+remapSize <= noID {
			return IDMap{Container: 0, Host: uint32(id.SubID), Size: remapSize}, false, nil
		}
		next = max(next, id.SubID+id.Count)
	}
	if next+remapSize > noID {
		return IDMap{}, false, fmt.Errorf("subordinate ids: no room in %s for %d ids above %d", path, remapSize, next)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return IDMap{}, false, fmt.Errorf("subordinate ids: %w", err)
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	line := fmt.Sprintf("%s:%d:%d\n", remapName, next, remapSize)
	if err := replaceFile(path, append(old, line...), held); err != nil {
		return IDMap{}, false, fmt.Errorf("subordinate ids: add %q to %s: %w", line[:len(line)-1], path, err)
	}
	return IDMap{Container: 0, Host: uint32(next), Size: remapSize}, false, nil
}

// replaceFile writes b to a new file beside path, with path's mode and
// owner, and renames it over path.
func replaceFile(path string, b []byte, st unix.Stat_t) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(os.FileMode(st.Mode & 0o7777))
	}
	if err == nil {
		err = tmp.Chown(int(st.Uid), int(st.Gid))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return err
}

// sysIDMaps turns maps into the form os/exec writes.
func sysIDMaps(ms []IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(ms))
	for i, m := range ms {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.Container), HostID: int(m.Host), Size: int(m.Size)}
	}
	return out
}
