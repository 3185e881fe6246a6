package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/ctop-dev/ctop/sandbox"
	"github.com/ctop-dev/ctop/ui"
)

// addTUI makes plain `ctop` open the terminal UI.
func addTUI(root *cobra.Command) {
	var (
		interval time.Duration
		place    sandboxPlace
	)
	root.Long += `

With no command, ctop opens its terminal UI: the cgroup tree, processes,
namespaces and sandboxes; enter opens charts of a group, e explains any
number or namespace, ? lists the keys.`
	root.Flags().DurationVar(&interval, "interval", time.Second, "refresh interval of the terminal UI (+ and - change it live)")
	place.register(root.Flags())
	root.RunE = func(c *cobra.Command, _ []string) error {
		if interval < 100*time.Millisecond {
			return usageErr(fmt.Errorf("--interval %s: want at least 100ms", interval))
		}
		return runTUI(interval, place)
	}
}

func runTUI(interval time.Duration, place sandboxPlace) error {
	src, readOnly, err := tuiSources(place)
	if err != nil {
		return err
	}
	// Each refresh reads thousands of small files and drops their buffers;
	// collecting at half the live heap's growth (rather than Go's default
	// of all of it) keeps the resident memory near issue 5's 25 MB budget
	// for little CPU, as the live heap is a few megabytes. GOGC overrides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	m := ui.New(ui.Options{Sources: src, Interval: interval, ReadOnly: readOnly})
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithMouseCellMotion())
	if _, err := p.Run(); err != nil {
		return fmt.Errorf("terminal UI: %w (it needs a terminal; scripts use ctop cgroups, ps or ns)", err)
	}
	return nil
}

// tuiSources adapts the cgroup, nsinfo and sandbox packages to the ui's
// interfaces. Without root the ui opens read-only and says why.
func tuiSources(place sandboxPlace) (ui.Sources, string, error) {
	f, err := cgroup.Open("/")
	if err != nil {
		return ui.Sources{}, "", err
	}
	nfs, err := nsinfo.Open("/")
	if err != nil {
		return ui.Sources{}, "", err
	}
	// Usage is read every tick; the walk and the limits every fullScanEvery
	// ticks, and at once after the UI changed a limit or made a sandbox.
	scanner := cgroup.NewScanner(f, cgroup.ScanOptions{Path: "/"}, fullScanEvery)
	procs := &procSource{fs: nfs, reader: nsinfo.NewReader(nfs), mode: f.Mode()}
	src := ui.Sources{
		Groups:    groupSource{fs: f, scanner: scanner},
		Procs:     procs,
		Isolation: isolationSource{procs: procs, place: place},
	}
	readOnly := ""
	if os.Geteuid() != 0 {
		readOnly = "not running as root"
	}
	launcher := &launcher{fs: f, place: place, scanner: scanner}
	src.Launcher = launcher
	src.Limits = limitSetter{fs: f, place: place, scanner: scanner}
	return src, readOnly, nil
}

// fullScanEvery is how many refreshes reuse one walk of the cgroup tree
// and one reading of the limits (see cgroup.Scanner): groups made and
// limits changed by other tools show within that many ticks.
const fullScanEvery = 5

// groupSource reads every cgroup of the host.
type groupSource struct {
	fs      *cgroup.FS
	scanner *cgroup.Scanner
}

// Snapshot scans the whole host. Per-file failures stay in each group's
// Errors; only a scan that returned nothing is an error.
func (g groupSource) Snapshot() (*cgroup.Snapshot, error) {
	snap, err := g.scanner.Scan()
	if snap == nil {
		return nil, err
	}
	return snap, nil
}

func (g groupSource) Dir(controller, path string) (string, bool) { return g.fs.Dir(controller, path) }

// procSource lists processes. Every fullEvery it reads them all through
// nsinfo's cached reader (stat, status, cgroup; namespaces only for new
// processes); in between it reads only /proc/PID/stat, for CPU time and
// RSS, and reads in full just the processes that are new (a pid not seen
// before, or with another start time). A process that moves to another
// cgroup or namespace shows it within fullEvery.
type procSource struct {
	fs      nsinfo.FS
	reader  *nsinfo.Reader
	mode    cgroup.Mode
	mu      sync.Mutex // the reader and the cache are not safe for concurrent use
	statBuf [4096]byte
	statFDs map[int]int // pid -> kept /proc/PID/stat descriptor
	maxFDs  int

	known    map[int]ui.Process
	host     [8]ui.NSID
	hostFrom string
	lastFull time.Time
}

// fullEvery is how often every process is read in full.
const fullEvery = 5 * time.Second

const clockTick = 100 // USER_HZ on every Linux architecture ctop builds for

func (s *procSource) Processes() (ui.ProcTable, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.known == nil || now.Sub(s.lastFull) >= fullEvery {
		return s.full(now)
	}
	return s.quick(now)
}

// convert is a process as the ui shows it, without CPU time and RSS.
func (s *procSource) convert(p *nsinfo.Process) ui.Process {
	up := ui.Process{PID: p.PID, PPID: p.PPID, User: p.User, Command: p.Comm,
		Start: p.StartTime, NS: nsSet(p.NS), Cgroup: s.cgroupOf(p.Cgroups)}
	if own := p.OwnPID(); own != p.PID {
		up.NSPid = own
	}
	return up
}

func (s *procSource) full(now time.Time) (ui.ProcTable, error) {
	procs, err := s.reader.Processes()
	if err != nil {
		return ui.ProcTable{}, err
	}
	if ref, err := nsinfo.Host(procs); err == nil {
		s.host = nsSet(ref.NS)
		s.hostFrom = fmt.Sprintf("pid %d (%s)", ref.PID, ref.Comm)
	}
	t := ui.ProcTable{Time: now, Host: s.host, HostFrom: s.hostFrom, Procs: make([]ui.Process, 0, len(procs))}
	known := make(map[int]ui.Process, len(procs))
	for i := range procs {
		up := s.convert(&procs[i])
		known[up.PID] = up
		if cpu, rss, _, ok := s.stat(up.PID); ok {
			s.usage(&up, cpu, rss)
		}
		t.Procs = append(t.Procs, up)
	}
	s.known, s.lastFull = known, now
	s.dropStats(known)
	// A full read leaves megabytes of small buffers behind (thousands of
	// files read by parallel workers); give them back to the kernel now
	// rather than keep them as resident memory until the next one. The
	// live heap is small, so this collection is cheap, and it runs only
	// every fullEvery.
	debug.FreeOSMemory()
	return t, nil
}

func (s *procSource) quick(now time.Time) (ui.ProcTable, error) {
	dir, err := os.Open("/proc")
	if err != nil {
		return ui.ProcTable{}, fmt.Errorf("list processes: %w", err)
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return ui.ProcTable{}, fmt.Errorf("list processes in /proc: %w", err)
	}
	t := ui.ProcTable{Time: now, Host: s.host, HostFrom: s.hostFrom, Procs: make([]ui.Process, 0, len(s.known))}
	known := make(map[int]ui.Process, len(s.known))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		cpu, rss, start, ok := s.stat(pid)
		if !ok {
			continue // exited meanwhile
		}
		up, seen := s.known[pid]
		if !seen || up.Start != start {
			p, err := s.fs.Process(pid)
			if err != nil {
				continue
			}
			up = s.convert(&p)
		}
		known[pid] = up
		s.usage(&up, cpu, rss)
		t.Procs = append(t.Procs, up)
	}
	s.known = known
	s.dropStats(known)
	return t, nil
}

func (s *procSource) usage(up *ui.Process, cpu, rss uint64) {
	up.CPUTime = time.Duration(cpu) * time.Second / time.Duration(clockTick)
	up.RSS = rss * uint64(os.Getpagesize())
}

// stat reads utime+stime (ticks), rss (pages) and the start time (ticks
// after boot) from /proc/PID/stat.
func (s *procSource) stat(pid int) (cpu, rss, start uint64, ok bool) {
	// This runs for every process on every tick, so the file is kept open
	// and read again from offset 0, which makes the kernel write it anew:
	// one system call instead of three. stat is one line, well under a
	// page, so one read has it all. When the process is gone the read
	// fails (ESRCH) and the descriptor is dropped; a new process with the
	// same pid gets a fresh one.
	n, ok := s.readStat(pid)
	if !ok {
		return 0, 0, 0, false
	}
	b := s.statBuf[:n]
	r := bytes.LastIndexByte(b, ')')
	if r < 0 {
		return 0, 0, 0, false
	}
	// Fields after ')' start at field 3 (state): utime is 14, stime 15,
	// start time 22, rss 24 (proc_pid_stat(5)).
	var ut, st, rs uint64
	field := 2
	for rest := b[r+1:]; len(rest) > 0 && field < 24; {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		tok := rest[:end]
		rest = rest[end:]
		field++
		var dst *uint64
		switch field {
		case 14:
			dst = &ut
		case 15:
			dst = &st
		case 22:
			dst = &start
		case 24:
			dst = &rs
		default:
			continue
		}
		for _, c := range tok {
			if c < '0' || c > '9' {
				return 0, 0, 0, false
			}
			*dst = *dst*10 + uint64(c-'0')
		}
	}
	if field < 24 {
		return 0, 0, 0, false
	}
	return ut + st, rs, start, true
}

// readStat reads /proc/PID/stat into statBuf through a kept descriptor.
func (s *procSource) readStat(pid int) (int, bool) {
	if s.statFDs == nil {
		s.statFDs = map[int]int{}
		s.maxFDs = 1024
		var rl unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Cur/4 > uint64(s.maxFDs) {
			s.maxFDs = int(min(rl.Cur/4, 1<<15))
		}
	}
	if fd, ok := s.statFDs[pid]; ok {
		if n, err := unix.Pread(fd, s.statBuf[:], 0); err == nil && n > 0 {
			return n, true
		}
		unix.Close(fd)
		delete(s.statFDs, pid)
	}
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	n, err := unix.Read(fd, s.statBuf[:])
	if err != nil || n <= 0 || len(s.statFDs) >= s.maxFDs {
		unix.Close(fd)
		return n, err == nil && n > 0
	}
	s.statFDs[pid] = fd
	return n, true
}

// dropStats closes the kept stat files of processes not in alive.
func (s *procSource) dropStats(alive map[int]ui.Process) {
	for pid, fd := range s.statFDs {
		if _, ok := alive[pid]; !ok {
			unix.Close(fd)
			delete(s.statFDs, pid)
		}
	}
}

// cgroupOf picks the path that keys the cgroup snapshot: the v2 path on a
// unified host, else the memory hierarchy's (then cpu's, then any).
func (s *procSource) cgroupOf(es []nsinfo.CgroupEntry) string {
	if s.mode == cgroup.ModeUnified {
		for _, e := range es {
			if e.HierarchyID == 0 {
				return e.Path
			}
		}
	}
	for _, want := range []string{"memory", "cpu", "pids", "name=systemd"} {
		for _, e := range es {
			for _, c := range e.Controllers {
				if c == want {
					return e.Path
				}
			}
		}
	}
	if len(es) > 0 {
		return es[0].Path
	}
	return ""
}

// nsOrder maps nsinfo's type order to the ui's, once.
var nsOrder = func() [8]ui.NSType {
	to := map[nsinfo.Type]ui.NSType{nsinfo.Mnt: ui.NSMnt, nsinfo.PID: ui.NSPid, nsinfo.Net: ui.NSNet, nsinfo.IPC: ui.NSIpc,
		nsinfo.UTS: ui.NSUts, nsinfo.User: ui.NSUser, nsinfo.Cgroup: ui.NSCgroup, nsinfo.Time: ui.NSTime}
	var out [8]ui.NSType
	for i, t := range nsinfo.Types() {
		out[i] = to[t]
	}
	return out
}()

func nsSet(s nsinfo.NSSet) [8]ui.NSID {
	var out [8]ui.NSID
	for i, id := range s {
		out[nsOrder[i]] = ui.NSID{Dev: id.Dev, Ino: id.Ino}
	}
	return out
}

// isolationSource reads the isolation of one process.
type isolationSource struct {
	procs *procSource
	place sandboxPlace
}

func (s isolationSource) Isolation(pid int) (ui.Isolation, error) {
	fs := s.procs.fs
	p, err := fs.Process(pid)
	if err != nil {
		return ui.Isolation{}, err
	}
	s.procs.mu.Lock()
	all, err := s.procs.reader.Processes()
	s.procs.mu.Unlock()
	if err != nil {
		return ui.Isolation{}, err
	}
	ref, err := nsinfo.Host(all)
	if err != nil {
		return ui.Isolation{}, err
	}
	d, err := fs.Diff(ref, p)
	if err != nil {
		return ui.Isolation{}, err
	}
	iso := ui.Isolation{PID: pid, NSPid: p.OwnPID(), Command: p.Command(), NS: nsSet(p.NS), Host: nsSet(ref.NS),
		HostFrom: fmt.Sprintf("pid %d (%s)", ref.PID, ref.Comm), Root: d.Root,
		UIDMap: idMapText(d.UIDMap), GIDMap: idMapText(d.GIDMap), Cgroup: s.procs.cgroupOf(p.Cgroups)}
	// The hostname of another uts namespace cannot be read without entering
	// it; a sandbox's is in its state.
	if iso.NS[ui.NSUts] == iso.Host[ui.NSUts] {
		iso.Hostname, _ = os.Hostname()
	} else if states, err := sandbox.List(s.place.stateDir); err == nil {
		for _, st := range states {
			if st.Cgroup == iso.Cgroup {
				iso.Hostname = st.Hostname
				if iso.Hostname == "" {
					iso.Hostname = st.Name
				}
			}
		}
	}
	return iso, nil
}

func idMapText(m []nsinfo.IDMapEntry) string {
	var parts []string
	for _, e := range m {
		parts = append(parts, fmt.Sprintf("%d %d %d", e.Inside, e.Outside, e.Count))
	}
	return strings.Join(parts, ", ")
}

// launcher starts, lists and stops sandboxes through the sandbox package,
// with ctop run's validation.
type launcher struct {
	fs      *cgroup.FS
	place   sandboxPlace
	scanner *cgroup.Scanner
}

func (l *launcher) Launch(s ui.SandboxSpec) (ui.Sandbox, error) {
	if os.Geteuid() != 0 {
		return ui.Sandbox{}, errors.New("launching a sandbox needs root (cgroups and namespaces are created for it)")
	}
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := runOptions{place: l.place, ns: strings.Join(s.Namespaces, ","), network: s.Network, hostname: s.Hostname, name: s.Name, detach: true}
	o.limits.register(fs)
	fs.StringVar(&o.ns, "ns", o.ns, "")
	if err := fs.Set("ns", o.ns); err != nil {
		return ui.Sandbox{}, err
	}
	for flag, v := range map[string]string{"cpus": s.CPUs, "memory": s.Memory, "pids-limit": s.Pids,
		"device-write-bps": s.WriteBps, "device-read-bps": s.ReadBps} {
		if v == "" {
			continue
		}
		if err := fs.Set(flag, v); err != nil {
			return ui.Sandbox{}, fmt.Errorf("--%s %s: %w", flag, v, err)
		}
	}
	spec, err := buildSpec(fs, &o, s.Command)
	if err != nil {
		return ui.Sandbox{}, err
	}
	// As ctop run does: clean up after a killed ctop, and give docker's
	// default swap with a memory limit.
	sandbox.Reap(l.fs, l.place.stateDir, l.place.cgroupParent)
	defaultSwap(l.fs, &spec.Resources)
	sb, err := sandbox.Start(spec)
	if err != nil {
		return ui.Sandbox{}, err
	}
	l.scanner.Invalidate() // show its group at the next tick
	// The monitor of a detached sandbox is our child: wait for it so it is
	// reaped when it ends.
	go sb.Wait()
	return ui.Sandbox{Name: sb.Name, State: "running", PID: sb.Pid, Command: strings.Join(s.Command, " "),
		Cgroup: sb.Cgroup(), Started: sb.Started}, nil
}

func (l *launcher) Stop(name string) error {
	_, err := sandbox.Stop(l.fs, l.place.stateDir, name)
	return err
}

func (l *launcher) Sandboxes() ([]ui.Sandbox, error) {
	states, err := sandbox.List(l.place.stateDir)
	if err != nil {
		return nil, err
	}
	var out []ui.Sandbox
	for _, st := range states {
		state := "running"
		switch {
		case st.Pid == 0:
			state = "starting"
		case !st.Running():
			state = "exited"
		}
		out = append(out, ui.Sandbox{Name: st.Name, State: state, PID: st.Pid, Command: strings.Join(st.Command, " "),
			Cgroup: st.Cgroup, Started: st.Created, Limits: st.Limits})
	}
	return out, nil
}

// Output returns the last 64 KiB of a detached sandbox's log.
func (l *launcher) Output(name string) (string, error) {
	st, err := sandbox.Load(l.place.stateDir, name)
	if err != nil {
		return "", err
	}
	if st.Log == "" {
		return "", fmt.Errorf("sandbox %s keeps no output log (it was not started detached)", name)
	}
	fh, err := os.Open(st.Log)
	if err != nil {
		return "", fmt.Errorf("read output of sandbox %s: %w", name, err)
	}
	defer fh.Close()
	const tail = 64 << 10
	if fi, err := fh.Stat(); err == nil && fi.Size() > tail {
		_, _ = fh.Seek(-tail, io.SeekEnd)
	}
	b, err := io.ReadAll(fh)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", st.Log, err)
	}
	if len(b) == 0 {
		return "(no output yet)", nil
	}
	return string(b), nil
}

// Shell is `ctop exec -it NAME -- /bin/sh`, run with the terminal handed
// over by tea.Exec.
func (l *launcher) Shell(name string) tea.ExecCommand {
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	return execCmd{exec.Command(self, "exec", "--state-dir", l.place.stateDir, "-it", name, "--", "/bin/sh")}
}

// execCmd lets tea.Exec hand the terminal to an *exec.Cmd.
type execCmd struct{ *exec.Cmd }

func (c execCmd) SetStdin(r io.Reader)  { c.Stdin = r }
func (c execCmd) SetStdout(w io.Writer) { c.Stdout = w }
func (c execCmd) SetStderr(w io.Writer) { c.Stderr = w }

// limitSetter changes limits as ctop update does, with its flags and
// validation.
type limitSetter struct {
	fs      *cgroup.FS
	place   sandboxPlace
	scanner *cgroup.Scanner
}

// resources parses changes as ctop update's flags.
func resourcesOf(changes []ui.LimitChange) (cgroup.Resources, error) {
	var l limitFlags
	fs := pflag.NewFlagSet("update", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l.register(fs)
	for _, c := range changes {
		if err := fs.Set(c.Flag, c.Value); err != nil {
			return cgroup.Resources{}, fmt.Errorf("--%s %q: %w", c.Flag, c.Value, errors.Unwrap(err))
		}
	}
	return l.resources(fs)
}

func (s limitSetter) ValidateLimit(flag, value string) error {
	_, err := resourcesOf([]ui.LimitChange{{Flag: flag, Value: value}})
	return err
}

// Bytes reads a size as ctop run and update do.
func (s limitSetter) Bytes(value string) (uint64, error) { return sandbox.ParseSize(value) }

func (s limitSetter) SetLimits(target string, changes []ui.LimitChange) error {
	r, err := resourcesOf(changes)
	if err != nil {
		return err
	}
	path := target
	if !strings.Contains(path, "/") {
		st, err := sandbox.Load(s.place.stateDir, target)
		if err != nil {
			return err
		}
		path = st.Cgroup
	}
	m, err := cgroup.Load(s.fs, filepath.Clean(path))
	if err != nil {
		return err
	}
	if err := m.Update(r); err != nil {
		return fmt.Errorf("update %s: %w", path, err)
	}
	s.scanner.Invalidate() // show the new limit at the next tick
	return nil
}
