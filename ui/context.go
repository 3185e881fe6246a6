package ui

import (
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/ui/theme"
)

// Context is what every component shares: the terminal size, theme, styles
// and keys, and the program-wide state they read (never write).
type Context struct {
	Width, Height int
	Theme         theme.Theme
	Styles        theme.Styles
	Renderer      *lipgloss.Renderer
	Keys          KeyMap
	// ReadOnly, when not empty, says why actions are refused (not root).
	ReadOnly string
	Mode     cgroup.Mode
	Interval time.Duration
	// Sources are the data sources, for explanations that name files.
	Sources Sources
}
