package ui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// commands are the names the : command line knows, as k9s's: a view, or
// quit. A prefix of a name is enough when it names one view.
var commands = []struct {
	name string
	view view
	quit bool
}{
	{name: "cgroups", view: vCgroups},
	{name: "procs", view: vProcs},
	{name: "processes", view: vProcs},
	{name: "ns", view: vNS},
	{name: "namespaces", view: vNS},
	{name: "net", view: vNet},
	{name: "networks", view: vNet},
	{name: "sandboxes", view: vSandboxes},
	{name: "q", quit: true},
	{name: "q!", quit: true},
	{name: "quit", quit: true},
}

// command runs what was typed after :.
func (m Model) command(c string) (tea.Model, tea.Cmd) {
	if c == "" {
		return m, nil
	}
	found := -1
	for i, cmd := range commands {
		if cmd.name == c {
			found = i
			break
		}
		if strings.HasPrefix(cmd.name, c) {
			if found >= 0 && (commands[found].view != cmd.view || commands[found].quit != cmd.quit) {
				m.setStatus(":"+c+" is ambiguous; type more of it", true)
				return m, nil
			}
			if found < 0 {
				found = i
			}
		}
	}
	if found < 0 {
		m.setStatus("unknown command :"+c+"; try :cgroups, :procs, :ns, :net, :sandboxes or :q", true)
		return m, nil
	}
	if commands[found].quit {
		return m, tea.Quit
	}
	m.setStatus("", false)
	return m, m.switchTo(commands[found].view)
}

// completeCommand completes a prefix to the first name it begins (tab).
func completeCommand(c string) string {
	c = strings.TrimSpace(c)
	if c == "" {
		return c
	}
	for _, cmd := range commands {
		if strings.HasPrefix(cmd.name, c) {
			return cmd.name
		}
	}
	return c
}
