package nsinfo

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// Process is what nsinfo knows of one process (a thread group; threads
// share their leader's namespaces unless they unshare alone, which is rare
// and ignored here, as lsns(8) and ps(1) do).
type Process struct {
	PID  int `json:"pid"`
	PPID int `json:"ppid"`
	// NSpid is the pid in each nested pid namespace, from the proc mount's
	// namespace down to the process's own: the last entry is the pid the
	// process sees for itself. Nil when status was not read.
	NSpid []int `json:"nspid"`
	// UID and GID are the effective ids; User is the name of UID (or the
	// number when root/etc/passwd does not list it).
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	User string `json:"user"`
	// Seccomp is its seccomp mode and filters, from status.
	Seccomp Seccomp `json:"seccomp"`
	// Comm is the command name from stat (at most 15 bytes); Cmdline the
	// arguments joined by spaces, empty for kernel threads and when not read.
	Comm    string `json:"comm"`
	Cmdline string `json:"cmdline,omitempty"`
	// Args are the arguments one by one, as Cmdline read them.
	Args []string `json:"args,omitempty"`
	// StartTime is when the process started, in clock ticks after boot
	// (stat field 22). PID and StartTime together identify one process
	// instance even after the pid is reused.
	StartTime uint64 `json:"start_time"`
	// NS holds the process's namespace of each type; an unknown ID means the
	// link could not be read (another user's process, without root).
	NS NSSet `json:"ns"`
	// Cgroups lists the process's cgroup in every hierarchy.
	Cgroups []CgroupEntry `json:"cgroups"`
	// Unavailable lists the fields that hold no data, because reading them
	// was refused or not asked for; FieldNS is set when any link was
	// unreadable.
	Unavailable Field `json:"unavailable"`
}

// OwnPID returns the pid inside the process's own pid namespace: the last
// NSpid entry, or PID when NSpid is unknown.
func (p Process) OwnPID() int {
	if n := len(p.NSpid); n > 0 {
		return p.NSpid[n-1]
	}
	return p.PID
}

// Command returns the command line, or the command name when the command
// line is empty or was not read (kernel threads have none), as lsns(8) does.
func (p Process) Command() string {
	if p.Cmdline != "" {
		return p.Cmdline
	}
	return p.Comm
}

// DefaultFields is what Processes reads: stat, status, cgroup and the
// namespace links. Reading cmdline as well costs one more file per process.
const DefaultFields = FieldStat | FieldStatus | FieldCgroups | FieldNS

// Processes reads every process of the proc mount with DefaultFields,
// sorted by pid. Processes that exit while being read are left out.
func (fs FS) Processes() ([]Process, error) {
	return fs.scan(DefaultFields, nil)
}

// ProcessesWith reads every process like Processes, but only the files
// that want names (among FieldStat, FieldStatus, FieldCgroups, FieldNS and
// FieldCmdline); the others are marked unavailable. With want == FieldNS
// only the namespace links are read, enough to group namespaces; a process
// none of whose links can be followed because it exited or is a zombie is
// then left out, as lsns(8) leaves it out.
func (fs FS) ProcessesWith(want Field) ([]Process, error) {
	return fs.scan(want, nil)
}

// Process reads one process with DefaultFields and its command line. It
// returns an error wrapping ErrNoProcess when the process does not exist.
func (fs FS) Process(pid int) (Process, error) {
	p, ok, err := fs.read(pid, DefaultFields|FieldCmdline, newScratch(nsfsDev(fs.proc)), fs.users(), nil)
	if err != nil {
		return Process{}, err
	}
	if !ok {
		return Process{}, fmt.Errorf("read %s/%d: %w", fs.proc, pid, ErrNoProcess)
	}
	return p, nil
}

// Cmdline reads the command line of pid, its arguments joined by spaces.
// It is "" for kernel threads.
func (fs FS) Cmdline(pid int) (string, error) {
	s := newScratch(0)
	path := s.procPath(fs.proc, pid, "cmdline")
	b, err := s.readFile(path)
	if err != nil {
		if kindOf(err) == errGone {
			return "", fmt.Errorf("read %s: %w", path, ErrNoProcess)
		}
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return cmdline(b), nil
}

// cmdline turns the NUL-separated arguments of /proc/PID/cmdline into one
// line.
// args splits /proc/PID/cmdline into its NUL-terminated arguments.
func args(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// Argv is the command as an argument list: Args, or the command name
// alone when there are none (kernel threads), as Command falls back.
func (p Process) Argv() []string {
	if len(p.Args) > 0 {
		return p.Args
	}
	return []string{p.Comm}
}

func cmdline(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
}

// isCmdline reports whether cmdline(b) == line, without allocating.
func isCmdline(b []byte, line string) bool {
	b = bytes.TrimRight(b, "\x00")
	if len(b) != len(line) {
		return false
	}
	for i, c := range b {
		if c == 0 {
			c = ' '
		}
		if c != line[i] {
			return false
		}
	}
	return true
}

// nsCache gives read access to namespaces read earlier; see Reader.
type nsCache interface {
	lookup(pid int, startTime uint64, comm string) (NSSet, bool)
}

// scan reads all processes with a few workers and returns them by pid.
func (fs FS) scan(want Field, cache nsCache) ([]Process, error) {
	if cache != nil {
		want |= FieldStat // the cache is keyed by start time and comm
	}
	pids, err := fs.pids()
	if err != nil {
		return nil, err
	}
	us := fs.users()
	dev := nsfsDev(fs.proc)
	out := make([]Process, len(pids))
	ok := make([]bool, len(pids))
	workers := runtime.GOMAXPROCS(0)
	if workers > 8 {
		workers = 8
	}
	if n := len(pids)/64 + 1; workers > n {
		workers = n
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newScratch(dev)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(pids) {
					return
				}
				p, found, err := fs.read(pids[i], want, s, us, cache)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				out[i], ok[i] = p, found
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	n := 0
	for i := range out {
		if ok[i] {
			out[n] = out[i]
			n++
		}
	}
	return out[:n:n], nil
}

// read reads the files of one process that want names. It returns false
// when the process has exited. Files the caller may not read are marked
// unavailable; a file that does not parse is an error naming it.
func (fs FS) read(pid int, want Field, s *scratch, us users, cache nsCache) (Process, bool, error) {
	p := Process{PID: pid, UID: -1, GID: -1, Unavailable: ^want & (FieldStat | FieldStatus | FieldCgroups | FieldNS | FieldCmdline)}
	return fs.readOnto(p, want, s, us, cache)
}

// readOnto reads the files that want names onto p, a process read before:
// what want leaves out stays as it was.
func (fs FS) readOnto(p Process, want Field, s *scratch, us users, cache nsCache) (Process, bool, error) {
	pid := p.PID
	// What want names is read afresh: nothing of the earlier reading
	// stays, also where this one is refused.
	p.Unavailable &^= want
	if want&FieldStatus != 0 {
		p.UID, p.GID, p.User, p.NSpid = -1, -1, "", nil
	}
	if want&FieldCgroups != 0 {
		p.Cgroups = nil
	}
	if want&FieldNS != 0 {
		p.NS = NSSet{}
	}
	prevCmdline := p.Cmdline
	if want&FieldCmdline != 0 {
		p.Cmdline, p.Args = "", nil
	}
	file := func(name string, f Field, parse func([]byte) error) (gone bool, err error) {
		s.at(fs.proc, pid, name)
		b, err := s.read()
		switch kindOf(err) {
		case errGone:
			if err != nil {
				// The process exited, unless its directory is still there
				// (a zombie, or a fixture tree without this file).
				if exists, err := s.exists(s.procPath(fs.proc, pid, "")); err != nil || !exists {
					return true, err
				}
				p.Unavailable |= f
				return false, nil
			}
		case errDenied:
			p.Unavailable |= f
			return false, nil
		default:
			if err != nil {
				return false, fmt.Errorf("read %s: %w", s.pathString(), err)
			}
		}
		if err := parse(b); err != nil {
			return false, fmt.Errorf("parse %s: %w", s.pathString(), err)
		}
		return false, nil
	}

	if want&FieldStat != 0 {
		gone, err := file("stat", FieldStat, func(b []byte) error {
			st, err := parseStat(b)
			p.Comm, p.PPID, p.StartTime = st.comm, st.ppid, st.startTime
			return err
		})
		if gone || err != nil {
			return Process{}, false, err
		}
	}
	if want&FieldStatus != 0 {
		gone, err := file("status", FieldStatus, func(b []byte) error {
			st, err := parseStatus(b)
			p.UID, p.GID, p.NSpid, p.Seccomp = st.uid, st.gid, st.nspid, st.seccomp
			p.User = us.name(st.uid)
			return err
		})
		if gone || err != nil {
			return Process{}, false, err
		}
	}
	if want&FieldCgroups != 0 {
		gone, err := file("cgroup", FieldCgroups, func(b []byte) error {
			var err error
			p.Cgroups, err = parseCgroup(b, &s.intern)
			return err
		})
		if gone || err != nil {
			return Process{}, false, err
		}
	}
	if want&FieldNS != 0 {
		if ns, hit := lookup(cache, pid, p.StartTime, p.Comm); hit {
			p.NS = ns
		} else {
			s.at(fs.proc, pid, "ns")
			gone, err := s.readNSSet(&p.NS)
			if err != nil {
				return Process{}, false, err
			}
			if gone {
				if want&^FieldCmdline == FieldNS {
					return Process{}, false, nil
				}
				// A zombie keeps its /proc directory; a reaped process does not.
				if exists, err := s.exists(s.procPath(fs.proc, pid, "")); err != nil || !exists {
					return Process{}, false, err
				}
			}
		}
		for _, id := range p.NS {
			if !id.Known() {
				p.Unavailable |= FieldNS
				break
			}
		}
	}
	if want&FieldCmdline != 0 {
		gone, err := file("cmdline", FieldCmdline, func(b []byte) error {
			if !s.lineOnly {
				p.Cmdline, p.Args = cmdline(b), args(b)
				return nil
			}
			// A re-read mostly finds the line unchanged: keep its string.
			p.Cmdline = prevCmdline
			if !isCmdline(b, prevCmdline) {
				p.Cmdline = cmdline(b)
			}
			return nil
		})
		if gone || err != nil {
			return Process{}, false, err
		}
	}
	return p, true, nil
}

func lookup(c nsCache, pid int, startTime uint64, comm string) (NSSet, bool) {
	if c == nil {
		return NSSet{}, false
	}
	return c.lookup(pid, startTime, comm)
}
