package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// list is the cursor and scroll position of a view's rows.
type list struct {
	cursor, offset int
}

// clamp keeps the cursor within n rows and visible in height lines.
func (l *list) clamp(n, height int) {
	if l.cursor >= n {
		l.cursor = n - 1
	}
	if l.cursor < 0 {
		l.cursor = 0
	}
	if height < 1 {
		height = 1
	}
	if l.offset > l.cursor {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+height {
		l.offset = l.cursor - height + 1
	}
	if l.offset > n-height {
		l.offset = n - height
	}
	if l.offset < 0 {
		l.offset = 0
	}
}

// update moves the cursor for the navigation keys of k; see move.
func (l *list) update(k KeyMap, msg tea.Msg, n, height, firstRow int) bool {
	return l.move(k.nav(), msg, n, height, firstRow)
}

// move moves the cursor for navigation keys and the mouse wheel; it
// reports whether msg was one of them. A click on a row selects it: row is
// the screen line of the first list row.
func (l *list) move(k navKeys, msg tea.Msg, n, height, firstRow int) bool {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, k.Up):
			l.cursor--
		case key.Matches(msg, k.Down):
			l.cursor++
		case key.Matches(msg, k.PageUp):
			l.cursor -= height
		case key.Matches(msg, k.PageDown):
			l.cursor += height
		case key.Matches(msg, k.Home):
			l.cursor = 0
		case key.Matches(msg, k.End):
			l.cursor = n - 1
		default:
			return false
		}
	case tea.MouseMsg:
		switch {
		case msg.Button == tea.MouseButtonWheelUp:
			l.cursor -= 3
		case msg.Button == tea.MouseButtonWheelDown:
			l.cursor += 3
		case msg.Button == tea.MouseButtonLeft && msg.Action == tea.MouseActionPress:
			row := msg.Y - firstRow
			if row < 0 || row >= height || l.offset+row >= n {
				return false
			}
			l.cursor = l.offset + row
		default:
			return false
		}
	default:
		return false
	}
	l.clamp(n, height)
	return true
}

// render shows the visible rows of n, the selected one highlighted, padded
// to height lines of width cells. row renders row i; sel tells it to leave
// out its own colours so the highlight covers the whole line.
func (l *list) render(ctx *Context, n, height, width int, row func(i int, sel bool) string) string {
	l.clamp(n, height)
	var b strings.Builder
	for i := 0; i < height; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		j := l.offset + i
		if j >= n {
			continue
		}
		sel := j == l.cursor
		line := fit(row(j, sel), width)
		if sel {
			line = ctx.Styles.Selected.Render(line)
		}
		b.WriteString(line)
	}
	return b.String()
}
