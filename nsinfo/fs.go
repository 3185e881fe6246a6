package nsinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/prometheus/procfs"
)

// FS reads processes from the proc mount under a root directory. It is a
// small value, safe to copy and to use from several goroutines.
type FS struct {
	root string // as given to Open: "/" on a live host, a fixture tree in tests
	proc string // root + "/proc"
	pfs  procfs.FS
}

// Open returns an FS for the proc mount at root/proc. Pass "/" on a live
// host; tests pass a directory that mirrors /, whose proc/PID directories
// hold copies of the kernel files. User names are looked up in
// root/etc/passwd.
func Open(root string) (FS, error) {
	proc := filepath.Join(root, "proc")
	pfs, err := procfs.NewFS(proc)
	if err != nil {
		return FS{}, fmt.Errorf("open proc mount %s: %w (is procfs mounted there?)", proc, err)
	}
	return FS{root: root, proc: proc, pfs: pfs}, nil
}

// Root returns the root directory the FS was opened with.
func (fs FS) Root() string { return fs.root }

// pids lists the processes (thread group leaders) of the proc mount in
// ascending order.
func (fs FS) pids() ([]int, error) {
	procs, err := fs.pfs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("list processes in %s: %w", fs.proc, err)
	}
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.PID
	}
	// /proc lists pids in ascending order; a fixture directory need not.
	if !slices.IsSorted(pids) {
		slices.Sort(pids)
	}
	return pids, nil
}

// users maps uids to names, read from root/etc/passwd once per scan.
// NOTE: only the passwd file is consulted, not NSS (LDAP, sssd); uids it
// does not list are shown as numbers, as ps(1) does for unknown uids.
type users map[int]string

func (fs FS) users() users {
	u := users{}
	f, err := os.Open(filepath.Join(fs.root, "etc", "passwd"))
	if err != nil {
		return u
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// name:password:uid:gid:gecos:home:shell
		fields := bytes.SplitN(sc.Bytes(), []byte(":"), 4)
		if len(fields) < 4 {
			continue
		}
		uid, err := strconv.Atoi(string(fields[2]))
		if err != nil {
			continue
		}
		if _, dup := u[uid]; !dup {
			u[uid] = string(fields[0])
		}
	}
	return u
}

// name returns the user name of uid, or the uid as a number.
func (u users) name(uid int) string {
	if n, ok := u[uid]; ok {
		return n
	}
	return strconv.Itoa(uid)
}
