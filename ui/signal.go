package ui

import (
	"fmt"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// Signal is a signal number as signal(7) gives it on Linux (the same on
// x86 and arm), so the ui names signals without importing syscall.
type Signal int

// The signals the menu offers.
const (
	SIGHUP  Signal = 1
	SIGINT  Signal = 2
	SIGKILL Signal = 9
	SIGUSR1 Signal = 10
	SIGUSR2 Signal = 12
	SIGTERM Signal = 15
	SIGCONT Signal = 18
	SIGSTOP Signal = 19
)

// menuSignals are the signals of the menu, TERM first: the default, as in
// htop and kill(1).
var menuSignals = []struct {
	sig        Signal
	name, what string
}{
	{SIGTERM, "TERM", "terminate; the process may clean up first"},
	{SIGINT, "INT", "interrupt, as ctrl+c"},
	{SIGHUP, "HUP", "hang up; many daemons reload their configuration"},
	{SIGKILL, "KILL", "kill at once; cannot be caught (asks first)"},
	{SIGSTOP, "STOP", "stop (pause) until CONT"},
	{SIGCONT, "CONT", "continue a stopped process"},
	{SIGUSR1, "USR1", "user-defined 1"},
	{SIGUSR2, "USR2", "user-defined 2"},
}

// String is the signal's name, SIGTERM.
func (s Signal) String() string {
	for _, m := range menuSignals {
		if m.sig == s {
			return "SIG" + m.name
		}
	}
	return "signal " + strconv.Itoa(int(s))
}

// signalMenu is the list of signals for one process or sandbox (htop's F9).
type signalMenu struct {
	pid     int
	start   uint64
	sandbox string
	what    string // "process 42 (sleep 100)", "sandbox web"
	list    list
}

// signalledMsg reports a signal sent, or why it was not.
type signalledMsg struct {
	what string
	sig  Signal
	err  error
}

// openSignals opens the signal menu for what the current view points at.
// PID 1 and kernel threads are refused here: the first ends the machine
// (or the container), the second ignore signals.
func (m *Model) openSignals() {
	sm := signalMenu{}
	if s, ok := m.current().(sandboxPicker); ok && s.SelectedSandbox() != "" {
		sm.sandbox = s.SelectedSandbox()
		sm.what = "sandbox " + sm.sandbox
	} else if p, ok := m.current().(processPicker); ok && p.SelectedProcess() != nil {
		pr := p.SelectedProcess()
		switch {
		case pr.PID == 1:
			m.setStatus("pid 1 is init: ctop does not signal it", true)
			return
		case pr.Kernel:
			m.setStatus(fmt.Sprintf("pid %d (%s) is a kernel thread: signals do not apply to it", pr.PID, pr.Command), true)
			return
		}
		sm.pid, sm.start = pr.PID, pr.Start
		sm.what = fmt.Sprintf("process %d (%s)", pr.PID, pr.Command)
	} else {
		m.setStatus("select a process or a sandbox to send it a signal", true)
		return
	}
	if m.ctx.Sources.Signals == nil {
		m.setStatus("sending signals is not available in this build", true)
		return
	}
	m.signals = &sm
}

// signalKey handles the keys of the open signal menu.
func (m Model) signalKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	k := m.ctx.Keys
	sm := *m.signals
	switch {
	case msg.String() == "esc" || msg.String() == "q":
		m.signals = nil
		return m, nil
	case msg.String() == "enter":
		m.signals = nil
		sig := menuSignals[sm.list.cursor].sig
		send := m.sendSignal(sm, sig)
		if sig == SIGKILL {
			m.confirm = &confirm{
				question: "Send SIGKILL to " + sm.what + "? It ends at once, without cleaning up.",
				yes:      send,
			}
			return m, nil
		}
		return m, send
	}
	sm.list.update(k, msg, len(menuSignals), len(menuSignals), 0)
	m.signals = &sm
	return m, nil
}

// sendSignal is the command that sends sig to the menu's target.
func (m *Model) sendSignal(sm signalMenu, sig Signal) tea.Cmd {
	s := m.ctx.Sources.Signals
	return func() tea.Msg {
		var err error
		if sm.sandbox != "" {
			err = s.SignalSandbox(sm.sandbox, sig)
		} else {
			err = s.Signal(sm.pid, sm.start, sig)
		}
		return signalledMsg{what: sm.what, sig: sig, err: err}
	}
}

// View renders the menu in w×h cells.
func (sm signalMenu) View(ctx *Context, w, h int) string {
	st := ctx.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render("Send a signal to "+sm.what) + "\n\n")
	b.WriteString(sm.list.render(ctx, len(menuSignals), len(menuSignals), w, func(i int, sel bool) string {
		s := menuSignals[i]
		what := s.what
		if !sel {
			what = st.Faint.Render(what)
		}
		return fmt.Sprintf(" %2d %-5s ", int(s.sig), s.name) + what
	}))
	b.WriteString("\n\n" + st.Faint.Render("enter: send  esc: cancel"))
	return b.String()
}
