package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/netinfo"
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
namespaces, networks and sandboxes; enter opens charts of a group, e
explains any number or namespace, ? lists the keys.`
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
	// Each refresh drops a few hundred kilobytes; collecting at a quarter
	// of the live heap's growth (rather than Go's default of all of it)
	// keeps the resident memory within issue 5's 25 MB budget for little
	// CPU, as the live heap is a few megabytes. GOGC overrides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	// The UI samples one source at a time and otherwise waits: a second P
	// buys no speed, only wakeups of idle threads looking for work (a
	// third of its CPU when nothing changes) and per-P memory caches.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	// Go returns freed heap pages to the kernel gradually, so between the
	// samples' garbage and the scavenger the resident set creeps up by a
	// few megabytes over a minute. A forced collection every 15 s hands
	// them back at once, for about a millisecond of CPU each time.
	trim := time.NewTicker(15 * time.Second)
	defer trim.Stop()
	done := make(chan struct{})
	defer close(done)
	go func() {
		released := false
		for {
			select {
			case <-trim.C:
				// Once started up, the binary's pages that only start-up
				// touched go too (most of its resident code); best effort,
				// as a failure costs memory, not function.
				if !released {
					released = true
					_ = nsinfo.ReleaseExecutable()
				}
				debug.FreeOSMemory()
			case <-done:
				return
			}
		}
	}()
	// Ask the terminal for its background now, before bubbletea owns it
	// and would swallow the answer (a 5 s stall): the adaptive colours
	// read it. Upstream bubbletea asked at package init, in every command;
	// third_party/bubbletea drops that (see its README).
	lipgloss.HasDarkBackground()
	o := ui.Options{Sources: src, Interval: interval, ReadOnly: readOnly}
	// NO_COLOR (no-color.org) takes colour away, not reverse video or bold,
	// but lipgloss's default renderer then drops both: draw on one that
	// writes attributes, with a theme that has no colours.
	if os.Getenv("NO_COLOR") != "" {
		r := lipgloss.NewRenderer(os.Stdout)
		r.SetColorProfile(termenv.ANSI)
		o.Renderer, o.NoColor = r, true
	}
	m := ui.New(o)
	// The screen changes only on a key, a click or a sample; 20 frames a
	// second keep typing and scrolling smooth at a third of the default's
	// timer wakeups.
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithFPS(20))
	if _, err := p.Run(); err != nil {
		return fmt.Errorf("terminal UI: %w (it needs a terminal; scripts use ctop cgroups, ps or ns)", err)
	}
	return nil
}

// tuiSources adapts the cgroup, nsinfo and sandbox packages to the ui's
// interfaces. Without root and without a delegated subtree the ui opens
// read-only and says why.
func tuiSources(place sandboxPlace) (ui.Sources, string, error) {
	f, err := cgroup.Open("/")
	if err != nil {
		return ui.Sources{}, "", err
	}
	nfs, err := nsinfo.Open("/")
	if err != nil {
		return ui.Sources{}, "", err
	}
	// Without root, the actions that work in the subtree delegated to the
	// user, on its own sandboxes; without one, none.
	readOnly, userRoot := "", ""
	if os.Geteuid() != 0 {
		if um, ok := sandbox.UserManagerGroup(f); ok {
			// As ctop run: sandboxes are scopes of the user's own
			// systemd (ChooseManager at each launch), whose group is
			// the user's, wherever this ctop runs.
			userRoot = um
		} else if root, err := sandbox.DelegatedRoot(f); err != nil || f.Mode() != cgroup.ModeUnified {
			readOnly = fmt.Sprintf("not running as root, and no cgroup v2 subtree is delegated to uid %d", os.Geteuid())
		} else {
			userRoot = root
			if place.cgroupParent == sandbox.DefaultCgroupParent {
				place.cgroupParent = path.Join(root, "ctop")
			}
		}
		if userRoot != "" && place.stateDir == sandbox.DefaultStateDir {
			place.stateDir = sandbox.UserStateDir()
		}
	}
	// Usage is read every tick; the walk and the limits every fullScanEvery
	// ticks, and at once after the UI changed a limit or made a sandbox.
	scanner := cgroup.NewScanner(f, cgroup.ScanOptions{Path: "/"}, fullScanEvery)
	procs := newProcSource(nfs)
	res := newResolver(place.stateDir)
	src := ui.Sources{
		Groups:    groupSource{fs: f, scanner: scanner},
		Procs:     procs,
		Isolation: isolationSource{procs: procs, place: place},
		// Names asks engines once per new container id, off the UI
		// goroutine (the sample's tea.Cmd), with a short timeout.
		Names: res,
		// Read only while the Networks view is shown.
		Net: netSource{netSampler{fs: nfs, net: netinfo.New("/"), names: res}},
	}
	launcher := &launcher{fs: f, place: place, scanner: scanner, rootless: userRoot != ""}
	src.Launcher = launcher
	src.Limits = limitSetter{fs: f, place: place, scanner: scanner, userRoot: userRoot, names: res}
	src.Signals = signaller{procs: nfs, place: place}
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

// procSource lists processes through an nsinfo.Tracker: each tick reads
// every process's stat (CPU time, RSS, start time) through kept
// descriptors, reads new processes in full, and re-reads the status,
// cgroup and namespaces of known ones in small rolling batches (see
// nsinfo.Tracker for the bounds).
type procSource struct {
	fs      nsinfo.FS
	tracker *nsinfo.Tracker
	mu      sync.Mutex // the tracker and the cache are not safe for concurrent use

	// paths caches nsinfo.CgroupPath by the entries' first element: nsinfo hands
	// out one slice per distinct /proc/PID/cgroup text.
	paths    map[*nsinfo.CgroupEntry]string
	host     nsinfo.NSSet
	hostRef  *nsinfo.Reference
	hostFrom string
	samples  int
	// procs is the array of the last table, which the next reuses (the ui
	// copies a table before it asks for the next).
	procs []ui.Process
}

func newProcSource(fs nsinfo.FS) *procSource {
	tracker := nsinfo.NewTracker(fs)
	tracker.Cmdline = true // the Processes view shows and filters whole command lines
	return &procSource{fs: fs, tracker: tracker}
}

// hostEvery is how many samples the host reference may be reused for
// while processes come and go; it is the init of the machine (or of the
// container ctop runs in), which changes only with a new boot.
const hostEvery = 10

// pathsEvery is how many samples the cgroup path cache lives.
const pathsEvery = 60

func (s *procSource) Processes() (ui.ProcTable, error) {
	t, first, err := s.sample()
	if first {
		// The first sample reads every process in full and leaves
		// megabytes of buffers behind; hand them back to the kernel now
		// rather than keep them resident until the scavenger gets to them
		// (outside the lock: it is a whole collection).
		debug.FreeOSMemory()
	}
	return t, err
}

func (s *procSource) sample() (t ui.ProcTable, first bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	sample, err := s.tracker.Sample()
	if err != nil {
		return ui.ProcTable{}, false, err
	}
	s.samples++
	if s.samples%pathsEvery == 0 {
		s.paths = nil // drop the entries of processes gone
	}
	// The host's reference is looked for again every hostEvery samples
	// while processes come and go, and until one is found.
	if (s.hostRef == nil || sample.Changed) && s.samples%hostEvery == 1 {
		s.setHost(sample)
	}
	s.procs = slices.Grow(s.procs[:0], len(sample.Procs))[:len(sample.Procs)]
	t = ui.ProcTable{Time: now, Host: s.host, HostFrom: s.hostFrom, Procs: s.procs}
	for i, tp := range sample.Procs {
		t.Procs[i] = s.convert(tp.Process)
		t.Procs[i].CPUTime, t.Procs[i].RSS, t.Procs[i].Kernel = tp.CPUTime, tp.RSS, tp.Kernel
	}
	return t, s.samples == 1, nil
}

// setHost finds the host's reference process in sample.
func (s *procSource) setHost(sample nsinfo.Sample) {
	ref, err := sample.Host()
	if err != nil {
		return
	}
	s.hostRef = &ref
	s.host = ref.NS
	s.hostFrom = fmt.Sprintf("pid %d (%s)", ref.PID, ref.Comm)
}

// hostReference is the host's reference process, as of the last sample,
// or read now when no sample has been taken.
func (s *procSource) hostReference() (nsinfo.Reference, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hostRef != nil {
		return *s.hostRef, nil
	}
	all, err := s.fs.Processes()
	if err != nil {
		return nsinfo.Reference{}, err
	}
	return nsinfo.Host(all)
}

// convert is a process as the ui shows it, without CPU time and RSS.
func (s *procSource) convert(p *nsinfo.Process) ui.Process {
	up := ui.Process{PID: p.PID, PPID: p.PPID, User: p.User, Command: p.Command(),
		Start: p.StartTime, NS: p.NS, Cgroup: s.cachedCgroupOf(p.Cgroups)}
	if own := p.OwnPID(); own != p.PID {
		up.NSPid = own
	}
	return up
}

// cachedCgroupOf is nsinfo.CgroupPath through the paths cache.
func (s *procSource) cachedCgroupOf(es []nsinfo.CgroupEntry) string {
	if len(es) == 0 {
		return ""
	}
	if p, ok := s.paths[&es[0]]; ok {
		return p
	}
	if s.paths == nil {
		s.paths = map[*nsinfo.CgroupEntry]string{}
	}
	p := nsinfo.CgroupPath(es)
	s.paths[&es[0]] = p
	return p
}

// netSource reads every network namespace for the Networks view, as ctop
// net does: the namespaces are listed afresh each time (containers come
// and go), their links read over netlink, their owners named through the
// resolver the other views share.
type netSource struct{ s netSampler }

func (n netSource) Networks() (ui.NetTable, error) {
	ts, host, err := n.s.targets()
	if err != nil {
		return ui.NetTable{}, err
	}
	snap := n.s.net.Read(ts)
	own := n.s.owners(snap, host)
	sortNet(snap.Namespaces, own)
	return ui.NetTable{Snap: snap, Owners: own}, nil
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
	ref, err := s.procs.hostReference()
	if err != nil {
		return ui.Isolation{}, err
	}
	d, err := fs.Diff(ref, p)
	if err != nil {
		return ui.Isolation{}, err
	}
	iso := ui.Isolation{PID: pid, NSPid: p.OwnPID(), Command: p.Command(), NS: p.NS, Host: ref.NS,
		HostFrom: fmt.Sprintf("pid %d (%s)", ref.PID, ref.Comm), Root: d.Root,
		UIDMap: idMapText(d.UIDMap), GIDMap: idMapText(d.GIDMap), Cgroup: nsinfo.CgroupPath(p.Cgroups)}
	// The hostname of another uts namespace cannot be read without entering
	// it; a sandbox's is in its state.
	if iso.NS.Get(nsinfo.UTS) == iso.Host.Get(nsinfo.UTS) {
		iso.Hostname, _ = os.Hostname()
	} else {
		iso.Hostname, _ = sandbox.Hostname(s.place.stateDir, iso.Cgroup)
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

// launcher starts, lists and stops sandboxes through the sandbox package;
// the ui fills the spec through the option table, as ctop run does.
type launcher struct {
	fs *cgroup.FS
	// host is the layout each sandbox is made in, read again after the
	// mount table changed.
	host    cgroup.Host
	place   sandboxPlace
	scanner *cgroup.Scanner
	// rootless: ctop runs without root in a delegated subtree.
	rootless bool
}

func (l *launcher) Launch(spec sandbox.Spec) (ui.Sandbox, error) {
	if os.Geteuid() != 0 && !l.rootless {
		return ui.Sandbox{}, errors.New("launching a sandbox needs root, or a cgroup subtree delegated to this user")
	}
	if l.rootless && !spec.Has(sandbox.NSUser) {
		// As ctop run: the kernel makes namespaces for a user who is
		// not root only inside a user namespace of its own.
		spec.Namespaces = append(spec.Namespaces, sandbox.NSUser)
	}
	spec.CgroupParent, spec.StateDir, spec.Detach = l.place.cgroupParent, l.place.stateDir, true
	// As ctop run does: clean up after a killed ctop, and give docker's
	// default swap with a memory limit.
	sandbox.Reap(l.fs, l.place.stateDir, l.place.cgroupParent)
	spec.DefaultSwap(l.fs)
	var err error
	if spec.Cgroups, err = l.host.FS(); err != nil {
		return ui.Sandbox{}, err
	}
	if err := spec.ChooseManager(spec.Cgroups, l.place.cgroupParent != sandbox.DefaultCgroupParent); err != nil {
		return ui.Sandbox{}, err
	}
	sb, err := sandbox.Start(spec)
	if err != nil {
		return ui.Sandbox{}, sandbox.Given(nil).Blame(err)
	}
	l.scanner.Invalidate() // show its group at the next tick
	// The monitor of a detached sandbox is our child: wait for it so it is
	// reaped when it ends.
	go sb.Wait()
	return ui.Sandbox{Name: sb.Name, State: "running", PID: sb.Pid, Command: strings.Join(spec.Command, " "),
		Cgroup: sb.Cgroup(), Started: sb.Started, Manager: spec.CgroupManager}, nil
}

// Stop kills the sandbox and removes it, record and log too, as docker's
// rm -f does: the TUI has no separate remove, and a sandbox that ended by
// itself is removed the same way.
func (l *launcher) Stop(name string) error {
	return sandbox.Remove(l.fs, l.place.stateDir, name, true)
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
			Cgroup: st.Cgroup, Started: st.Created, Limits: st.Limits, Manager: st.Manager()})
	}
	return out, nil
}

// Output returns the last 64 KiB of a detached sandbox's log.
func (l *launcher) Output(name string) (string, error) {
	st, err := sandbox.Load(l.place.stateDir, name)
	if err != nil {
		return "", err
	}
	b, err := st.Output(64 << 10)
	if err != nil {
		return "", err
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

// limitSetter changes limits as ctop update does.
type limitSetter struct {
	fs      *cgroup.FS
	place   sandboxPlace
	scanner *cgroup.Scanner
	// userRoot is the subtree delegated to a user who is not root ("":
	// root, who may change any group).
	userRoot string
	// names finds the unit or container that owns a group.
	names *names.Resolver
}

// CanSetLimits refuses a group outside the delegated subtree before the
// form opens: its files are root's, or systemd's to set.
func (s limitSetter) CanSetLimits(p string) error {
	if s.userRoot == "" || strings.HasPrefix(p, s.userRoot+"/") {
		return nil
	}
	return fmt.Errorf("changing the limits of %s needs root: uid %d may change only the groups under %s", p, os.Geteuid(), s.userRoot)
}

func (s limitSetter) SetLimits(target string, r cgroup.Resources) error {
	// As ctop update: a plain systemd unit's group through systemd.
	var owner names.Name
	var ownerAt string
	if strings.Contains(target, "/") && s.names != nil {
		owner, ownerAt = names.Owner(target, s.names.Names(names.Ancestors([]string{target})))
	}
	if _, _, err := applyLimits(s.fs, owner, ownerAt, s.place.stateDir, target, r); err != nil {
		return sandbox.Given(nil).Blame(err)
	}
	s.scanner.Invalidate() // show the new limit at the next tick
	return nil
}

// signaller sends the signals the ui asks for through nsinfo (a process)
// and sandbox (a sandbox's first process), which refuse what must not be
// signalled.
type signaller struct {
	procs nsinfo.FS
	place sandboxPlace
}

func (s signaller) Signal(pid int, start uint64, sig ui.Signal) error {
	return s.procs.Signal(pid, start, syscall.Signal(sig))
}

func (s signaller) SignalSandbox(name string, sig ui.Signal) error {
	return sandbox.Signal(s.place.stateDir, name, syscall.Signal(sig))
}
