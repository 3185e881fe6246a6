package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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
// subordinate ranges, or for any other user rootlessMaps's. helper: the
// maps are written by newuidmap(1) and newgidmap(1), the setuid helpers
// that may map the ids /etc/subuid and /etc/subgid grant a user who is
// not root; otherwise ctop writes them itself (through os/exec).
func (s *Spec) idMaps() (uids, gids []IDMap, helper bool, err error) {
	if os.Geteuid() != 0 {
		return s.userMaps()
	}
	if len(s.UIDMap) > 0 {
		return s.UIDMap, s.GIDMap, false, nil
	}
	u, err := remapRange(s.SubUIDFile)
	if err != nil {
		return nil, nil, false, err
	}
	g, err := remapRange(s.SubGIDFile)
	if err != nil {
		return nil, nil, false, err
	}
	return []IDMap{u}, []IDMap{g}, false, nil
}

// userMaps are the maps of a caller who is not root: --uidmap and
// --gidmap checked against what the caller may map, else rootlessMaps.
func (s *Spec) userMaps() (uids, gids []IDMap, helper bool, err error) {
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	name := userName(uid)
	subU, errU := subRanges(s.SubUIDFile, name, uid)
	subG, errG := subRanges(s.SubGIDFile, name, gid)
	have := haveMapHelpers()
	if len(s.UIDMap) == 0 {
		if errU != nil || errG != nil || !have {
			// Only the caller: the one map the kernel lets it write.
			subU, subG = nil, nil
		}
		uids, gids = rootlessMaps(uid, subU), rootlessMaps(gid, subG)
		return uids, gids, len(uids) > 1 || len(gids) > 1, nil
	}
	for _, m := range []struct {
		opt, kind, file string
		own             uint32
		sub             []IDMap
		err             error
		maps            []IDMap
	}{
		{"--uidmap", "uid", s.SubUIDFile, uid, subU, errU, s.UIDMap},
		{"--gidmap", "gid", s.SubGIDFile, gid, subG, errG, s.GIDMap},
	} {
		if err := allowedMaps(m.maps, m.own, m.sub); err != nil {
			why := fmt.Sprintf("has no range in %s", m.file)
			if m.err != nil {
				why = fmt.Sprintf("has no range: %v", m.err)
			} else if len(m.sub) > 0 {
				why = "may map only itself and " + hostRanges(m.sub)
			}
			return nil, nil, false, fmt.Errorf("%s %s: %s %d %s", m.opt, err, m.kind, m.own, why)
		}
	}
	// The init must be root of its namespace to make it (a process
	// whose uid is not 0 there loses its capabilities at execve), and
	// only the caller's own ids can be the init's: podman nests a second
	// user namespace for other maps, which this init cannot make.
	for _, m := range []struct {
		opt, kind string
		own       uint32
		maps      []IDMap
	}{{"--uidmap", "uid", uid, s.UIDMap}, {"--gidmap", "gid", gid, s.GIDMap}} {
		if !slices.Contains(m.maps, IDMap{Container: 0, Host: m.own, Size: 1}) {
			x := m.maps[0]
			return nil, nil, false, fmt.Errorf("%s %d:%d:%d: a sandbox of %s %d maps its root to %s %d, the init's: add %s 0:%d:1 and map other ids from 1", m.opt, x.Container, x.Host, x.Size, m.kind, m.own, m.kind, m.own, m.opt, m.own)
		}
	}
	own := func(ms []IDMap, id uint32) bool { return len(ms) == 1 && ms[0].Host == id && ms[0].Size == 1 }
	if own(s.UIDMap, uid) && own(s.GIDMap, gid) {
		return s.UIDMap, s.GIDMap, false, nil
	}
	if !have {
		return nil, nil, false, fmt.Errorf("--uidmap and --gidmap beyond uid %d's own ids need newuidmap and newgidmap (Debian's uidmap package): not found in $PATH", uid)
	}
	return s.UIDMap, s.GIDMap, true, nil
}

// rootlessMaps maps root inside to the caller's own id, and ids from 1 up
// to its subordinate ranges in order, as podman does for a rootless
// container.
func rootlessMaps(own uint32, sub []IDMap) []IDMap {
	out := []IDMap{{Container: 0, Host: own, Size: 1}}
	next := uint64(1)
	for _, r := range sub {
		if len(out) == maxIDMaps || next+uint64(r.Size) > noID {
			break
		}
		out = append(out, IDMap{Container: uint32(next), Host: r.Host, Size: r.Size})
		next += uint64(r.Size)
	}
	return out
}

// allowedMaps checks that every host id maps names the caller's own id
// or lies in one of its subordinate ranges sub, as newuidmap checks.
func allowedMaps(maps []IDMap, own uint32, sub []IDMap) error {
	for _, m := range maps {
		if m.Host == own && m.Size == 1 {
			continue
		}
		ok := false
		for _, r := range sub {
			if uint64(m.Host) >= uint64(r.Host) && uint64(m.Host)+uint64(m.Size) <= uint64(r.Host)+uint64(r.Size) {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("%d:%d:%d", m.Container, m.Host, m.Size)
		}
	}
	return nil
}

// hostRanges formats ranges as "100000-165535, ...".
func hostRanges(sub []IDMap) string {
	var b strings.Builder
	for i, r := range sub {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d-%d", r.Host, uint64(r.Host)+uint64(r.Size)-1)
	}
	return b.String()
}

// subRanges returns the ranges that the subordinate id file path
// (subuid(5)) grants the user name or id, as newuidmap reads them: an
// entry names the user or its id. Ranges that would pass (uid_t)-1 are
// left out. A missing file grants none.
func subRanges(path, name string, id uint32) ([]IDMap, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("subordinate ids: %w", err)
	}
	defer f.Close()
	return parseSubRanges(f, name, id)
}

// parseSubRanges is subRanges over the file's contents.
func parseSubRanges(r io.Reader, name string, id uint32) ([]IDMap, error) {
	num := strconv.FormatUint(uint64(id), 10)
	ids, err := user.ParseSubIDFilter(r, func(e user.SubID) bool {
		return (e.Name == num || (name != "" && e.Name == name)) && e.SubID >= 0 && e.Count > 0 && e.SubID+e.Count <= noID
	})
	if err != nil {
		return nil, fmt.Errorf("subordinate ids: %w", err)
	}
	var out []IDMap
	for _, e := range ids {
		out = append(out, IDMap{Host: uint32(e.SubID), Size: uint32(e.Count)})
	}
	return out, nil
}

// userName is uid's name in the host's /etc/passwd ("": none).
func userName(uid uint32) string {
	us, err := user.ParsePasswdFileFilter("/etc/passwd", func(u user.User) bool { return u.Uid == int(uid) })
	if err != nil || len(us) == 0 {
		return ""
	}
	return us[0].Name
}

// mapHelpers are the setuid helpers that write a user namespace's maps for
// a caller who is not root (Debian's and Fedora's package uidmap,
// shadow-utils).
var mapHelpers = [2]string{"newuidmap", "newgidmap"}

// haveMapHelpers reports whether both helpers are in $PATH.
func haveMapHelpers() bool {
	for _, h := range mapHelpers {
		if _, err := exec.LookPath(h); err != nil {
			return false
		}
	}
	return true
}

// writeMapsByHelper writes the maps of pid's user namespace with
// newuidmap and newgidmap. A failure names the command and what it said.
func writeMapsByHelper(pid int, uids, gids []IDMap) error {
	for i, ms := range [2][]IDMap{uids, gids} {
		args := []string{strconv.Itoa(pid)}
		for _, m := range ms {
			args = append(args, strconv.FormatUint(uint64(m.Container), 10), strconv.FormatUint(uint64(m.Host), 10), strconv.FormatUint(uint64(m.Size), 10))
		}
		cmd := exec.Command(mapHelpers[i], args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			msg := strings.Join(strings.Fields(out.String()), " ")
			if msg == "" {
				msg = err.Error()
			}
			return fmt.Errorf("map the user namespace's ids: %s %s: %s", mapHelpers[i], strings.Join(args, " "), msg)
		}
	}
	return nil
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
