package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"
)

// maxUserFile caps what is read of a passwd or group file (as
// moby/sys/user does): an image's file may be anything.
const maxUserFile = 10 << 20

// ParseUser resolves --user NAME|UID[:GROUP|GID] as docker does, in the
// /etc/passwd and /etc/group of root (the sandbox's --rootfs; "": the
// host's, which a sandbox without one sees): a name is looked up; a uid
// with no group takes its passwd entry's primary gid, else gid 0; without
// an explicit group the user also gets the groups whose entry lists its
// name as supplementary groups; Home is the entry's home. These are the
// semantics of moby/sys/user's GetExecUser (with runc's default of uid 0,
// gid 0, home "/"), whose parsers read the files; ids are ctop's own
// parseID's, so any up to 4294967294 is taken and 4294967295, (uid_t)-1,
// which setresuid(2) and setresgid(2) read as "leave unchanged" and which
// would keep root, is refused, whether typed or found in an entry.
//
// The files are opened inside root as if it were "/" (RESOLVE_IN_ROOT):
// an image whose /etc/passwd is a symlink to /etc/passwd or ../../etc/passwd
// cannot make ctop read the host's. A missing file is an empty one.
func ParseUser(s, root string) (*User, error) {
	us, gs, hasG := strings.Cut(s, ":")
	if err := CheckUser(s); err != nil {
		return nil, err
	}
	uid, uNum, _ := idOrName(us, "uid")
	gid, gNum, _ := idOrName(gs, "gid")
	if root == "" {
		root = "/"
	}
	passwd, err := readUserFile(root, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	users, err := user.ParsePasswdFilter(bytes.NewReader(passwd), func(e user.User) bool {
		if uNum {
			return int64(e.Uid) == int64(uid)
		}
		return e.Name == us
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where(root, "/etc/passwd"), err)
	}
	u := &User{UID: uid}
	name := ""
	switch {
	case len(users) > 0:
		// The first entry wins, as in GetExecUser.
		e := users[0]
		if u.UID, err = entryID(e.Uid, "uid", e.Name, root, "/etc/passwd"); err != nil {
			return nil, err
		}
		if u.GID, err = entryID(e.Gid, "gid", e.Name, root, "/etc/passwd"); err != nil {
			return nil, err
		}
		u.Home, name = e.Home, e.Name
	case !uNum:
		return nil, fmt.Errorf("no user %q in %s", us, where(root, "/etc/passwd"))
	}
	if !hasG && name == "" {
		return u, nil
	}
	group, err := readUserFile(root, "/etc/group")
	if err != nil {
		return nil, err
	}
	groups, err := user.ParseGroupFilter(bytes.NewReader(group), func(g user.Group) bool {
		switch {
		case !hasG:
			return slices.Contains(g.List, name)
		case gNum:
			return int64(g.Gid) == int64(gid)
		}
		return g.Name == gs
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where(root, "/etc/group"), err)
	}
	if !hasG {
		// Supplementary groups only in the implicit form, as docker.
		for _, g := range groups {
			id, err := entryID(g.Gid, "gid", g.Name, root, "/etc/group")
			if err != nil {
				return nil, err
			}
			u.Groups = append(u.Groups, id)
		}
		return u, nil
	}
	switch {
	case len(groups) > 0:
		u.GID, err = entryID(groups[0].Gid, "gid", groups[0].Name, root, "/etc/group")
	case gNum:
		u.GID = gid
	default:
		err = fmt.Errorf("no group %q in %s", gs, where(root, "/etc/group"))
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// CheckUser checks the form of --user NAME|UID[:GROUP|GID] without
// reading a file: its numbers are ids parseID takes.
func CheckUser(s string) error {
	us, gs, hasG := strings.Cut(s, ":")
	if us == "" {
		return errors.New("want NAME|UID[:GROUP|GID]")
	}
	if hasG && gs == "" {
		return errors.New("no group after ':'")
	}
	if _, _, err := idOrName(us, "uid"); err != nil {
		return err
	}
	if hasG {
		if _, _, err := idOrName(gs, "gid"); err != nil {
			return err
		}
	}
	return nil
}

// idOrName reads a part of --user: a number (anything strconv takes for
// one, so "+5" and "-1" are refused numbers, not names) must be an id
// parseID takes; anything else is a name.
func idOrName(s, what string) (uint32, bool, error) {
	if _, err := strconv.ParseInt(s, 10, 64); err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false, nil
	}
	id, err := parseID(s)
	if err != nil {
		return 0, true, fmt.Errorf("%s %q %w", what, s, err)
	}
	return id, true, nil
}

// entryID checks an id read from an entry of a passwd or group file:
// moby/sys/user reads a malformed one as 0 and can read one that is no
// id, such as -1 or (uid_t)-1.
func entryID(id int, what, name, root, file string) (uint32, error) {
	if id < 0 || id >= noID {
		return 0, fmt.Errorf("%s: entry %q has %s %d: want 0 to %d", where(root, file), name, what, id, uint32(noID-1))
	}
	return uint32(id), nil
}

// readUserFile reads file of root resolved as if root were "/", so that
// no symlink in it leads out, and only if it is a regular file: a fifo
// would block ctop and a device could be anything. Missing, it is empty.
func readUserFile(root, file string) ([]byte, error) {
	h, err := pathrs.OpenInRoot(root, file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", where(root, file), err)
	}
	defer h.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", where(root, file), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s is not a regular file", where(root, file))
	}
	f, err := pathrs.Reopen(h, unix.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", where(root, file), err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxUserFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", where(root, file), err)
	}
	if len(b) > maxUserFile {
		return nil, fmt.Errorf("%s is over %d bytes", where(root, file), maxUserFile)
	}
	return b, nil
}

// where names a file of root in a message.
func where(root, file string) string {
	if root == "/" {
		return file
	}
	return file + " of " + root
}
