package ui

import (
	"github.com/charmbracelet/bubbles/help"
	tea "github.com/charmbracelet/bubbletea"
)

// view names one of the screens: the index of its component in the root
// model.
type view int

const (
	vCgroups view = iota
	vProcs
	vNS
	vNet
	vSandboxes
	vDetail
	vIsolation
	viewCount
)

// tabCount is how many views have a tab (and a number key): the isolation
// of a process is reached from a process, and shows under the Detail tab.
const tabCount = int(vDetail) + 1

// component is what every view is to the root model, as gh-dash's sections
// and k9s's views are: it owns its keys, its rows and its rendering. The
// root only dispatches to the current one and never reads its fields.
//
// Views are values: Update and Refresh return the changed view, as
// bubbletea's models do, so the root model stays a value that can be copied.
type component interface {
	// Update handles the keys and mouse events the root did not take (the
	// mouse's Y relative to the body), the body's size as a
	// tea.WindowSizeMsg, and the messages addressed to the view.
	Update(msg tea.Msg) (component, tea.Cmd)
	// View renders the view in w×h cells.
	View(w, h int) string
	// Refresh rebuilds what the view shows from the store after a sample,
	// or when the view is shown again.
	Refresh() component
	// Title names the view: its tab, and its section of the help.
	Title() string
	// Keys are the view's own keys, shown by ? after the global ones.
	Keys() help.KeyMap
	// Shows says which data the view shows, so a tick reads only those.
	Shows() (groups, procs bool)
}

// The optional parts of a view, each implemented by the views that have it
// (as io.WriterTo is to io.Writer); the root asks with a type assertion.
type (
	// filterer is a view that filters its rows with the text typed after /.
	filterer interface {
		Filter() string
		SetFilter(f string) component
	}
	// groupPicker is a view that points at a cgroup, which u edits and e
	// explains: its path, and the name `ctop update` knows it by (a sandbox
	// name or the path).
	groupPicker interface {
		SelectedGroup() (path, target string)
	}
	// sandboxPicker is a view that points at a sandbox, which K stops, x
	// enters and o shows the output of; "" when none is selected.
	sandboxPicker interface {
		SelectedSandbox() string
	}
	// processPicker is a view that points at a process, which the signal
	// menu (F9) signals; nil when none is selected.
	processPicker interface {
		SelectedProcess() *Process
	}
	// explainer is a view with topics of its own for e; nil when nothing
	// is selected, and the root offers the general ones.
	explainer interface {
		Topics() []topic
	}
	// sampler is a view that reads data no other view needs through a
	// source of its own: the root asks it for a command on every tick
	// while it is shown, and hands the command's message back to it.
	sampler interface {
		Sample() (component, tea.Cmd)
	}
)
