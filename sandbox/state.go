package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctop-dev/ctop/cgroup"
)

// State is what ctop keeps about a running sandbox in StateDir/NAME.json,
// so that ls, stop, exec and update work from any later ctop process.
// Files of its own (a detached sandbox's log, an overlay's layers) go in
// the directory StateDir/NAME, made only for a sandbox that has some: on a
// /run on disk every file and directory made and removed is a journaled
// operation on the start's path.
type State struct {
	Name string `json:"name"`
	// Pid is the sandbox's first process as the host sees it (0 while
	// starting); PidStart is its start time in clock ticks since boot
	// (/proc/PID/stat field 22), so a reused pid is not mistaken for it.
	Pid      int    `json:"pid"`
	PidStart uint64 `json:"pid_start"`
	// Owner is the ctop process that waits for the sandbox and cleans up
	// after it (ctop run, or the monitor of a detached sandbox).
	Owner      int       `json:"owner"`
	OwnerStart uint64    `json:"owner_start"`
	Created    time.Time `json:"created"`
	Cgroup     string    `json:"cgroup"`
	// MadeParent: the parent group is ctop's (made for this sandbox, or
	// named ctop), to be removed once empty.
	MadeParent bool        `json:"made_parent,omitempty"`
	Command    []string    `json:"command"`
	Namespaces []Namespace `json:"namespaces"`
	Hostname   string      `json:"hostname,omitempty"`
	Network    string      `json:"network"`
	Rootfs     string      `json:"rootfs,omitempty"`
	Overlay    bool        `json:"overlay,omitempty"`
	Detached   bool        `json:"detached,omitempty"`
	// Log is the output file of a detached sandbox.
	Log string `json:"log,omitempty"`
	// User is the spec's --user, Seccomp its profile (nil: docker's
	// default) and NewPrivileges its no-new-privileges=false, used by exec.
	User          *User           `json:"user,omitempty"`
	Seccomp       *SeccompProfile `json:"seccomp,omitempty"`
	NewPrivileges bool            `json:"new_privileges,omitempty"`
	// CapAdd and CapDrop are the spec's, so that exec gives its command
	// the sandbox's capabilities.
	CapAdd  []string `json:"cap_add,omitempty"`
	CapDrop []string `json:"cap_drop,omitempty"`
	// Limits summarises the limits as given ("--cpus 0.5 --memory 32m").
	Limits string `json:"limits,omitempty"`
	// Remove, StopSignal and StopTimeout are the spec's (see Spec).
	Remove      bool          `json:"remove,omitempty"`
	StopSignal  int           `json:"stop_signal,omitempty"`
	StopTimeout time.Duration `json:"stop_timeout,omitempty"`

	// Labels are the spec's (--label); null when none.
	Labels map[string]string `json:"labels"`

	// CgroupManager is the spec's (see Spec.CgroupManager; Manager reads
	// it), Unit the sandbox's systemd scope under ManagerSystemd, named
	// before it is started, so that Reap stops one a killed ctop left.
	CgroupManager string `json:"cgroup_manager,omitempty"`
	Unit          string `json:"unit,omitempty"`

	// Status is StatusRunning from the start (ls shows a Pid of 0 as
	// starting) and StatusExited once a detached sandbox has ended: its
	// record and log then stay until ctop rm. A record read by ReadPaused
	// may say StatusPaused; the file never does. Old records have "".
	Status string `json:"status"`
	// ExitCode, FinishedAt and Reason say how an exited sandbox ended;
	// nil where that is unknown (its monitor was killed) or, for Reason,
	// where there is nothing to say beyond the code.
	ExitCode   *int       `json:"exit_code"`
	FinishedAt *time.Time `json:"finished_at"`
	Reason     *string    `json:"reason"`

	// path is StateDir/NAME.json, dir StateDir/NAME.
	path, dir string
	// madeDir: dir was made (see ensureDir).
	madeDir bool
	// file is open from create until update.
	file *os.File
}

// stateExt ends the name of a state file.
const stateExt = ".json"

// The values of State.Status, docker's words.
const (
	StatusRunning = "running"
	StatusPaused  = "paused"
	StatusExited  = "exited"
)

// Exited reports whether the record is that of an ended sandbox.
func (s *State) Exited() bool { return s.Status == StatusExited }

// logName is the detached sandbox's output log in its directory, the one
// file of the directory that stays after the sandbox exits.
const logName = "output.log"

// Dir is the sandbox's own directory (see State).
func (s *State) Dir() string { return s.dir }

// ensureDir makes the sandbox's own directory. One left by a sandbox of
// the same name whose ctop was killed while cleaning up is emptied first.
func (s *State) ensureDir() error {
	if s.madeDir {
		return nil
	}
	err := os.Mkdir(s.dir, 0o700)
	if errors.Is(err, os.ErrExist) {
		if err = os.RemoveAll(s.dir); err == nil {
			err = os.Mkdir(s.dir, 0o700)
		}
	}
	if err != nil {
		return fmt.Errorf("create sandbox directory %s: %w", s.dir, err)
	}
	s.madeDir = true
	return nil
}

// selfStart is this process's start time (see procStart).
var selfStart = sync.OnceValue(func() uint64 {
	v, _ := procStart(os.Getpid())
	return v
})

// procStart returns the start time of pid in clock ticks (/proc/PID/stat
// field 22), or false when the process does not exist or has ended (a
// zombie, state Z or X, field 3).
func procStart(pid int) (uint64, bool) {
	if pid <= 0 {
		return 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may contain spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		// A zombie has ended; only its parent has not reaped it yet.
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}

// alive reports whether pid is still the process that started at start.
func alive(pid int, start uint64) bool {
	st, ok := procStart(pid)
	return ok && st == start
}

// OwnerAlive reports whether the ctop process responsible for the sandbox
// still runs; when it does not, the sandbox is stale.
func (s *State) OwnerAlive() bool { return alive(s.Owner, s.OwnerStart) }

// Running reports whether the sandbox's first process still runs.
func (s *State) Running() bool { return alive(s.Pid, s.PidStart) }

func (s *State) marshal() ([]byte, error) { return json.MarshalIndent(s, "", "  ") }

// create writes the first state of a sandbox, failing if the name is
// taken, and keeps the file open for update.
func (s *State) create(path string) error {
	b, err := s.marshal()
	if err != nil {
		return err
	}
	if f, err := createWhole(path, b); !errors.Is(err, errNoTmpfile) {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("--name %s: conflict: the name is already in use by a sandbox (see ctop ls -a; ctop rm %s frees it)", s.Name, s.Name)
		}
		if err != nil {
			return fmt.Errorf("write sandbox state: %w", err)
		}
		s.file = f
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		// docker's "Conflict. The container name is already in use".
		return fmt.Errorf("--name %s: conflict: the name is already in use by a sandbox (see ctop ls -a; ctop rm %s frees it)", s.Name, s.Name)
	}
	if err != nil {
		return fmt.Errorf("write sandbox state: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write sandbox state %s: %w", path, err)
	}
	s.file = f
	return nil
}

// update rewrites the state in place and closes it. Not by writing a
// new file and renaming it over the old: on ext4 that rename starts the
// new file's writeback (auto_da_alloc), which costs a sandbox's start
// more than everything else ctop does on disk. A reader that catches the
// file half rewritten retries (see Load).
func (s *State) update() error {
	if s.file == nil {
		return errors.New("write sandbox state: not open")
	}
	defer func() {
		s.file.Close()
		s.file = nil
	}()
	b, err := s.marshal()
	if err != nil {
		return err
	}
	if _, err := s.file.WriteAt(b, 0); err != nil {
		return fmt.Errorf("write sandbox state %s: %w", s.file.Name(), err)
	}
	if err := s.file.Truncate(int64(len(b))); err != nil {
		return fmt.Errorf("write sandbox state %s: %w", s.file.Name(), err)
	}
	return nil
}

// remove removes the sandbox's directory, if it may have one, then its
// state: the record goes last.
func (s *State) remove(mayHaveDir bool) error {
	if mayHaveDir {
		if err := os.RemoveAll(s.dir); err != nil {
			return fmt.Errorf("remove sandbox state: %w", err)
		}
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove sandbox state: %w", err)
	}
	return nil
}

// reserve records a new sandbox's state, failing if the name is taken.
func reserve(stateDir string, st *State) error {
	st.Owner, st.OwnerStart = os.Getpid(), selfStart()
	path, dir := statePaths(stateDir, st.Name)
	// The state root is made when missing, found so by the create itself
	// (it stays once made: see teardown).
	err := st.create(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(stateDir, 0o700); err != nil {
			return fmt.Errorf("create state directory %s: %w", stateDir, err)
		}
		err = st.create(path)
	}
	if err != nil {
		return err
	}
	// Set only now: a failed start removes what these name.
	st.path, st.dir = path, dir
	return nil
}

func statePaths(stateDir, name string) (path, dir string) {
	dir = filepath.Join(stateDir, name)
	return dir + stateExt, dir
}

// Load reads the state of sandbox name.
func Load(stateDir, name string) (*State, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	path, dir := statePaths(stateDir, name)
	var st State
	for try := 0; ; try++ {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no sandbox named %q (see ctop ls): %w", name, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("read state of sandbox %s: %w", name, err)
		}
		err = json.Unmarshal(b, &st)
		if err == nil {
			break
		}
		// The state is written in place (see update): a read that caught
		// it half written sees it whole a moment later.
		if try == 3 {
			// A ctop killed between update's write and its truncate left
			// the new state followed by the old one's tail: the first
			// value is the state.
			st = State{}
			if json.NewDecoder(bytes.NewReader(b)).Decode(&st) == nil && st.Name == name {
				break
			}
			return nil, fmt.Errorf("parse %s: %w", path, err)
		}
		time.Sleep(time.Millisecond)
	}
	st.path, st.dir = path, dir
	return &st, nil
}

// ErrNotFound means no sandbox has the given name.
var ErrNotFound = errors.New("no such sandbox")

// List returns the sandboxes recorded in stateDir, by name. Stale ones
// (their ctop was killed) are included; see Reap.
func List(stateDir string) ([]*State, error) {
	ents, err := os.ReadDir(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list sandboxes in %s: %w", stateDir, err)
	}
	var out []*State
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), stateExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		st, err := Load(stateDir, name)
		if err != nil {
			continue // being created or removed right now
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *State) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Reap cleans up what a killed ctop left behind under stateDir: the
// processes and cgroup of each sandbox whose owner is gone, and the parent
// group if it is ctop's own (named ctop, or made by a reaped sandbox) and
// empty. The state goes too, but for a detached sandbox's (its monitor
// was killed), which stays as an exited record with its log until ctop rm,
// as the record of one that ended does. Exited records are left alone. It
// returns one line per sandbox it cleaned up, for the caller to show.
//
// It touches only groups a state record names: a sandbox records its state
// before it makes its group and removes it after, so a group under the
// parent with no record is not ctop's (the parent may be a group the user
// named with --cgroup-parent, holding their services).
func Reap(f *cgroup.FS, stateDir, parent string) ([]string, error) {
	var msgs []string
	var errs []error
	states, err := List(stateDir)
	if err != nil {
		return nil, err
	}
	removeParent := ownParent(parent)
	if err := reapEmpty(stateDir); err != nil {
		errs = append(errs, err)
	}
	for _, st := range states {
		if st.OwnerAlive() {
			continue
		}
		if st.Exited() {
			// A --rm sandbox's monitor killed between recording the exit
			// and removing the record: finish its removal.
			if st.Remove {
				if err := st.remove(true); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		removeParent = removeParent || (st.MadeParent && st.Unit == "" && filepath.Dir(st.Cgroup) == filepath.Clean(parent))
		kept, err := settle(f, st)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if kept {
			msgs = append(msgs, fmt.Sprintf("sandbox %s: its monitor (pid %d) was killed: removed its processes and cgroup %s; its record stays as exited (ctop ls -a, ctop rm)", st.Name, st.Owner, st.Cgroup))
			continue
		}
		msgs = append(msgs, fmt.Sprintf("removed sandbox %s left behind by a ctop that was killed (pid %d): its processes, cgroup %s and state", st.Name, st.Owner, st.Cgroup))
	}
	if removeParent {
		if _, err := cgroup.RemoveIfEmpty(f, parent); err != nil {
			errs = append(errs, err)
		}
	}
	return msgs, errors.Join(errs...)
}

// ownParent reports whether parent is ctop's own parent group, named ctop
// (the default /ctop, or one a delegated user gets), which ctop removes
// when it is empty.
func ownParent(parent string) bool { return filepath.Base(parent) == "ctop" }

// settle cleans up after a sandbox whose owner is gone: it kills what is
// left in its group and removes the group, then either keeps the record
// as exited (kept: a detached sandbox without --rm) or removes it.
func settle(f *cgroup.FS, st *State) (kept bool, err error) {
	if st.Unit != "" {
		err = stopUnit(f, st)
	} else {
		err = removeGroup(f, st.Cgroup)
	}
	if err != nil {
		return false, err
	}
	// The owner may have recorded the end (or, for --rm, removed the
	// record) and exited after the caller read st: what it wrote stands.
	switch cur, err := Load(filepath.Dir(st.path), st.Name); {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err == nil && cur.Exited():
		return true, nil
	}
	if st.Detached && !st.Remove {
		return true, st.markLost()
	}
	return false, st.remove(true)
}

// removeGroup kills what is left in a group and removes it; a group that
// is gone already is no error.
func removeGroup(f *cgroup.FS, path string) error {
	m, err := cgroup.Load(f, path)
	switch {
	case errors.Is(err, cgroup.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if err := m.Kill(); err != nil {
		return err
	}
	return m.Delete()
}

// emptyGrace is how old an empty state file is before Reap takes it for
// one a killed ctop left: create writes the state right after making the
// file.
const emptyGrace = 5 * time.Second

// reapEmpty removes the empty state files of ctops killed between making
// the file and writing it (see create): nothing else of their sandboxes
// was made yet (reserve comes before every group and unit), and such a
// file would hold the name for good.
func reapEmpty(stateDir string) error {
	ents, err := os.ReadDir(stateDir)
	if err != nil {
		return nil // List said why already
	}
	var errs []error
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), stateExt)
		if !ok || !e.Type().IsRegular() || ValidName(name) != nil {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Size() != 0 || time.Since(info.ModTime()) < emptyGrace {
			continue
		}
		path, dir := statePaths(stateDir, name)
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("remove sandbox state: %w", err))
		} else if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove sandbox state: %w", err))
		}
	}
	return errors.Join(errs...)
}
