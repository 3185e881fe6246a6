package ui

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/google/go-cmp/cmp"
	"github.com/muesli/termenv"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/nsinfo"

	"github.com/ctop-dev/ctop/sandbox"
)

// updateGolden reports whether -update was given (the flag is registered by
// charmbracelet/x/exp/golden, which teatest imports).
func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeHost is a small v2 host whose counters advance one second per
// snapshot: /ctop/web runs at 0.4 CPUs under a 0.5 quota and is throttled.
type fakeHost struct {
	step    int
	quota   uint64 // µs per 100 ms, of /ctop/web
	memMax  uint64
	oomAt   int // the step from which /ctop/web counts one OOM kill; 0: never
	limits  []cgroup.Resources
	targets []string
	spec    *sandbox.Spec
	stopped []string
	sbs     []Sandbox
	failSet error
	// signals records what was sent: "pid/start SIGTERM" or "sandbox SIGKILL".
	signals []string
	// kernel marks the fake's kernel thread (pid 2) as one.
	kernel bool
}

func newFakeHost() *fakeHost {
	return &fakeHost{quota: 50000, memMax: 64 << 20,
		sbs: []Sandbox{{Name: "web", State: "running", PID: 200, Command: "python3 -m http.server", Cgroup: "/ctop/web", Started: base.Add(-90 * time.Second), Limits: "--cpus 0.5 --memory 64MiB"}}}
}

func group(path string, ctl ...string) *cgroup.Group {
	return &cgroup.Group{Path: path, Controllers: ctl}
}

func (f *fakeHost) Snapshot() (*cgroup.Snapshot, error) {
	n := uint64(f.step)
	f.step++
	t := base.Add(time.Duration(n) * time.Second)
	all := []string{"cpu", "io", "memory", "pids"}
	root := group("/", all...)
	root.Procs = cgroup.Known(1)
	root.Stats.CPU.Usage = cgroup.Known(1e9 + n*1_300_000)
	sys := group("/system.slice", all...)
	sys.Procs = cgroup.Known(0)
	ssh := group("/system.slice/sshd.service", all...)
	ssh.Procs = cgroup.Known(1)
	ctop := group("/ctop", all...)
	ctop.Procs = cgroup.Known(0)
	web := group("/ctop/web", all...)
	web.Procs = cgroup.Known(3)
	user := group("/user.slice", all...)
	user.Procs = cgroup.Known(0)
	for i, g := range []*cgroup.Group{sys, ssh, ctop, web, user} {
		g.Limits.CPU.Quota = cgroup.Max
		g.Limits.CPU.Period = cgroup.Known(100000)
		g.Limits.Memory.Max = cgroup.Max
		g.Limits.Memory.High = cgroup.Max
		g.Limits.Pids = cgroup.Max
		g.Effective.Memory = cgroup.Max
		g.Effective.Pids = cgroup.Max
		g.Stats.CPU.Usage = cgroup.Known(uint64(i+1)*1e6 + n*uint64(i+1)*10_000)
		g.Stats.CPU.Periods = cgroup.Known(0)
		g.Stats.CPU.Throttled = cgroup.Known(0)
		g.Stats.Memory.Current = cgroup.Known(uint64(i+1) << 20)
		g.Stats.Memory.Events.OOMKill = cgroup.Known(0)
		g.Stats.Pids.Current = cgroup.Known(uint64(i + 1))
		g.Stats.Pids.MaxEvents = cgroup.Known(0)
		g.Stats.Pressure.CPU = cgroup.PSI{OK: true}
		g.Stats.Pressure.Memory = cgroup.PSI{OK: true}
		g.Stats.Pressure.IO = cgroup.PSI{OK: true}
	}
	web.Limits.CPU.Quota = cgroup.LimitOf(f.quota)
	web.Limits.Memory.Max = cgroup.LimitOf(f.memMax)
	web.Limits.Memory.High = cgroup.LimitOf(48 << 20)
	web.Limits.Pids = cgroup.LimitOf(20)
	web.Effective = cgroup.Effective{Cores: float64(f.quota) / 1e5, CoresFrom: "/ctop/web",
		Memory: cgroup.LimitOf(f.memMax), MemFrom: "/ctop/web", Pids: cgroup.LimitOf(20), PidsFrom: "/ctop/web"}
	web.Stats.CPU.Usage = cgroup.Known(5e6 + n*400_000)
	web.Stats.CPU.Periods = cgroup.Known(n * 10)
	web.Stats.CPU.Throttled = cgroup.Known(n * 3)
	web.Stats.Memory.Current = cgroup.Known(40 << 20)
	web.Stats.Pids.Current = cgroup.Known(4)
	web.Stats.IO = []cgroup.IOStat{{Device: cgroup.Device{Major: 8}, ReadBytes: n << 10, WriteBytes: n << 20}}
	web.Stats.Pressure.CPU.Some.Avg10 = 12.5
	if f.oomAt > 0 && f.step > f.oomAt {
		web.Stats.Memory.Events.OOMKill = cgroup.Known(1)
	}
	return &cgroup.Snapshot{Time: t, Mode: cgroup.ModeUnified, Groups: []*cgroup.Group{root, ctop, web, sys, ssh, user}}, nil
}

func (f *fakeHost) Dir(controller, path string) (string, bool) {
	if controller != "" {
		return "", false
	}
	return filepath.Join("/sys/fs/cgroup", path), true
}

var hostNS = func() (s nsinfo.NSSet) {
	for t, ino := range map[nsinfo.Type]uint64{nsinfo.Mnt: 4026531841, nsinfo.PID: 4026531836, nsinfo.Net: 4026531840,
		nsinfo.IPC: 4026531839, nsinfo.UTS: 4026531838, nsinfo.User: 4026531837, nsinfo.Cgroup: 4026531835, nsinfo.Time: 4026531834} {
		s.Set(t, nsinfo.ID{Dev: 3, Ino: ino})
	}
	return s
}()

func (f *fakeHost) Processes() (ProcTable, error) {
	n := time.Duration(f.step)
	own := hostNS
	for i, t := range []nsinfo.Type{nsinfo.Mnt, nsinfo.PID, nsinfo.Net, nsinfo.IPC, nsinfo.UTS, nsinfo.Cgroup} {
		own.Set(t, nsinfo.ID{Dev: 3, Ino: 4026532200 + uint64(i)})
	}
	t := ProcTable{
		Time:     base.Add(n * time.Second),
		Host:     hostNS,
		HostFrom: "pid 1 (systemd)",
		Procs: []Process{
			{PID: 1, User: "root", Command: "/sbin/init", Cgroup: "/init.scope", CPUTime: n * 10 * time.Millisecond, RSS: 12 << 20, Start: 1, NS: hostNS},
			{PID: 100, PPID: 1, User: "root", Command: "sshd: /usr/sbin/sshd -D", Cgroup: "/system.slice/sshd.service", RSS: 8 << 20, Start: 50, NS: hostNS},
			{PID: 200, PPID: 1, NSPid: 1, User: "root", Command: "python3 -m http.server", Cgroup: "/ctop/web", CPUTime: n * 400 * time.Millisecond, RSS: 30 << 20, Start: 900, NS: own},
			{PID: 201, PPID: 200, NSPid: 2, User: "nobody", Command: "sh -c worker", Cgroup: "/ctop/web", RSS: 1 << 20, Start: 901, NS: own},
		},
	}
	if f.kernel {
		t.Procs = append(t.Procs, Process{PID: 2, User: "root", Command: "kthreadd", Start: 2, NS: hostNS, Kernel: true})
	}
	return t, nil
}

func (f *fakeHost) Isolation(pid int) (Isolation, error) {
	t, _ := f.Processes()
	for _, p := range t.Procs {
		if p.PID == pid {
			return Isolation{PID: pid, NSPid: p.NSPid, Command: p.Command, NS: p.NS, Host: hostNS, HostFrom: "pid 1 (systemd)",
				Hostname: "web", Root: "/", UIDMap: "0 0 4294967295", GIDMap: "0 0 4294967295", Cgroup: p.Cgroup}, nil
		}
	}
	return Isolation{}, fmt.Errorf("read process %d: no such process", pid)
}

func (f *fakeHost) Launch(s sandbox.Spec) (Sandbox, error) {
	f.spec = &s
	if s.Name == "fail" {
		return Sandbox{}, errors.New("create cgroup /ctop/fail: permission denied")
	}
	sb := Sandbox{Name: s.Name, State: "running", PID: 300, Command: strings.Join(s.Command, " "), Cgroup: "/ctop/" + s.Name, Started: base}
	f.sbs = append(f.sbs, sb)
	return sb, nil
}

func (f *fakeHost) Stop(name string) error {
	f.stopped = append(f.stopped, name)
	return nil
}

func (f *fakeHost) Sandboxes() ([]Sandbox, error) { return f.sbs, nil }

func (f *fakeHost) Output(name string) (string, error) {
	return "Serving HTTP on 0.0.0.0 port 8000\n", nil
}

func (f *fakeHost) Shell(name string) tea.ExecCommand { return nil }

func (f *fakeHost) SetLimits(target string, r cgroup.Resources) error {
	if f.failSet != nil {
		return f.failSet
	}
	f.targets = append(f.targets, target)
	f.limits = append(f.limits, r)
	if r.CPU != nil && r.CPU.Quota.Finite() {
		f.quota = r.CPU.Quota.V * 100000 / r.CPU.Period
	}
	if r.MemoryMax != nil && r.MemoryMax.Finite() {
		f.memMax = r.MemoryMax.V
	}
	return nil
}

func (f *fakeHost) Signal(pid int, start uint64, sig Signal) error {
	f.signals = append(f.signals, fmt.Sprintf("%d/%d %s", pid, start, sig))
	return nil
}

func (f *fakeHost) SignalSandbox(name string, sig Signal) error {
	f.signals = append(f.signals, name+" "+sig.String())
	return nil
}

func (f *fakeHost) sources() Sources {
	return Sources{Groups: f, Procs: f, Isolation: f, Launcher: f, Limits: f, Signals: f}
}

// asciiRenderer draws without colours, for golden files.
func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	r.SetHasDarkBackground(true)
	return r
}

func TestMain(m *testing.M) {
	// ntcharts styles its canvas through the default renderer.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// newTestModel is a model on the fake host at w×h with n samples read.
func newTestModel(t *testing.T, f *fakeHost, w, h, n int, readOnly string) Model {
	t.Helper()
	m := New(Options{Sources: f.sources(), Renderer: asciiRenderer(), ReadOnly: readOnly, Now: func() time.Time { return base }})
	m.ticker = func(int, time.Duration) tea.Cmd { return func() tea.Msg { return nil } }
	m = send(m, tea.WindowSizeMsg{Width: w, Height: h})
	for i := 0; i < n; i++ {
		m = sampleNow(m)
	}
	return m
}

// sampleNow reads the sources synchronously, as the tick's command would.
func sampleNow(m Model) Model {
	m.inflight = true
	return send(m, sample(m.ctx.Sources, m.needsProcs(), true)())
}

// send delivers one message and runs the command it returns when that is a
// message the model itself produces (not a tick or a blink).
func send(m Model, msg tea.Msg) Model {
	nm, cmd := m.Update(msg)
	m = nm.(Model)
	return runCmd(m, cmd)
}

func runCmd(m Model, cmd tea.Cmd) Model {
	if cmd == nil {
		return m
	}
	switch msg := cmd().(type) {
	case openDetailMsg, openIsolationMsg, isolationMsg, launchedMsg, limitsSetMsg, stoppedMsg, outputMsg, signalledMsg, netMsg:
		return send(m, msg)
	case sampleMsg:
		return send(m, msg)
	case tea.BatchMsg:
		for _, c := range msg {
			m = runCmd(m, c)
		}
	}
	return m
}

// keys types each key in turn: "enter", "tab", or single characters.
func keys(m Model, ks ...string) Model {
	for _, k := range ks {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		case "tab":
			msg = tea.KeyMsg{Type: tea.KeyTab}
		case "down":
			msg = tea.KeyMsg{Type: tea.KeyDown}
		case "up":
			msg = tea.KeyMsg{Type: tea.KeyUp}
		case "left":
			msg = tea.KeyMsg{Type: tea.KeyLeft}
		case "right":
			msg = tea.KeyMsg{Type: tea.KeyRight}
		case "ctrl+s":
			msg = tea.KeyMsg{Type: tea.KeyCtrlS}
		case "ctrl+u":
			msg = tea.KeyMsg{Type: tea.KeyCtrlU}
		case "f9":
			msg = tea.KeyMsg{Type: tea.KeyF9}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		m = send(m, msg)
	}
	return m
}

// typeText types s one rune at a time.
func typeText(m Model, s string) Model {
	for _, r := range s {
		m = send(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return m
}

// golden compares got with testdata/name.golden; -update rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if updateGolden() {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden file (run go test ./ui -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("view %s differs from %s (-want +got):\n%s", name, p, diff)
	}
}

// cgroupsOf and detailOf are views of m, for the tests that look inside.
func cgroupsOf(m Model) cgroupsView { return m.views[vCgroups].(cgroupsView) }
func detailOf(m Model) detailView   { return m.views[vDetail].(detailView) }
