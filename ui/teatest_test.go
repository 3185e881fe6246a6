package ui

import (
	"bytes"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
)

// The whole program, as bubbletea runs it at a fixed 80×24 terminal: it
// samples on start, opens the detail of a group, edits its CPU limit from
// the form, and quits on q.
func TestProgram(t *testing.T) {
	f := newFakeHost()
	m := New(Options{Sources: f.sources(), Renderer: asciiRenderer(), Now: func() time.Time { return base }})
	// The ticks are delivered by the test, not by a timer.
	m.ticker = func(int, time.Duration) tea.Cmd { return nil }
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	has := func(s string) func([]byte) bool {
		return func(b []byte) bool { return bytes.Contains(b, []byte(s)) }
	}
	teatest.WaitFor(t, tm.Output(), has("sshd.serv"))
	tm.Send(tickMsg{}) // a second sample, for rates
	teatest.WaitFor(t, tm.Output(), has("40M/64M"))
	tm.Type("jj")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	teatest.WaitFor(t, tm.Output(), has("limits: cpus 0.5"))
	tm.Type("u")
	teatest.WaitFor(t, tm.Output(), has("Edit limits of /ctop/web"))
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU})
	tm.Type("0.25")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	teatest.WaitFor(t, tm.Output(), has("limits of /ctop/web changed"))
	tm.Send(tickMsg{})
	teatest.WaitFor(t, tm.Output(), has("cpus 0.5 → 0.25"))
	tm.Type("q")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if detailOf(fm).path != "/ctop/web" || f.quota != 25000 {
		t.Errorf("final detail %q, quota %d µs; want /ctop/web at 25000", detailOf(fm).path, f.quota)
	}
}
