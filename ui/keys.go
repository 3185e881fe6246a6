package ui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key ctop answers to. Each view picks its own from it
// (cgroupsKeys, procsKeys, ...), so a key is bound in one place.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
	Expand, Collapse                      key.Binding
	Open, Back, NextView, PrevView        key.Binding
	View1, View2, View3, View4, View5     key.Binding
	View6                                 key.Binding
	Filter, Sort, Tree, Freeze            key.Binding
	Reverse, SortName, SortCPU, SortMem   key.Binding
	Command, Signal                       key.Binding
	Faster, Slower                        key.Binding
	Explain, Help, Quit                   key.Binding
	New, Update, Stop, Shell, Output      key.Binding
	Isolation                             key.Binding
	// Names switches the Cgroups view between names and raw ids.
	Names key.Binding
}

// DefaultKeyMap returns the keys a k9s, htop or btop user expects.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, k, help string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, help))
	}
	return KeyMap{
		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+d"}, "pgdn", "page down"),
		Home:     b([]string{"home", "g"}, "g", "top"),
		End:      b([]string{"end", "G"}, "G", "bottom"),
		Expand:   b([]string{"right", "l", " "}, "→/space", "expand"),
		Collapse: b([]string{"left", "h"}, "←", "collapse"),
		Open:     b([]string{"enter"}, "enter", "open"),
		Back:     b([]string{"esc"}, "esc", "back"),
		NextView: b([]string{"tab"}, "tab", "next view"),
		PrevView: b([]string{"shift+tab"}, "shift+tab", "previous view"),
		View1:    b([]string{"1"}, "1", "cgroups"),
		View2:    b([]string{"2"}, "2", "processes"),
		View3:    b([]string{"3"}, "3", "namespaces"),
		View4:    b([]string{"4"}, "4", "networks"),
		View5:    b([]string{"5"}, "5", "sandboxes"),
		View6:    b([]string{"6"}, "6", "detail"),
		Filter:   b([]string{"/"}, "/", "filter"),
		Sort:     b([]string{"s"}, "s", "sort"),
		Tree:     b([]string{"t", "f5"}, "t", "tree/flat"),
		// htop's keys: I inverts, P sorts by CPU, M by memory, N by pid (the
		// name where there is no pid); pressing the key of the current sort
		// again reverses it, as in k9s.
		Reverse:  b([]string{"S", "I"}, "S", "reverse sort"),
		SortName: b([]string{"N"}, "N", "sort by name"),
		SortCPU:  b([]string{"P"}, "P", "sort by cpu"),
		SortMem:  b([]string{"M"}, "M", "sort by memory"),
		Command:  b([]string{":"}, ":", "command line"),
		// k is up (vim), so htop's k is not free: F9 as in htop, ctrl+k
		// as k9s kills.
		Signal:    b([]string{"f9", "ctrl+k"}, "F9", "send signal"),
		Freeze:    b([]string{"f"}, "f", "freeze"),
		Faster:    b([]string{"+", "="}, "+", "faster"),
		Slower:    b([]string{"-"}, "-", "slower"),
		Explain:   b([]string{"e"}, "e", "explain"),
		Help:      b([]string{"?"}, "?", "help"),
		Quit:      b([]string{"q", "ctrl+c"}, "q", "quit"),
		New:       b([]string{"n"}, "n", "new sandbox"),
		Update:    b([]string{"u"}, "u", "edit limits"),
		Stop:      b([]string{"K"}, "K", "stop sandbox"),
		Shell:     b([]string{"x"}, "x", "shell in sandbox"),
		Output:    b([]string{"o"}, "o", "sandbox output"),
		Isolation: b([]string{"i"}, "i", "isolation"),
		Names:     b([]string{"R"}, "R", "raw ids/names"),
	}
}

// ShortHelp is the one-line help under every view.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Help, k.Open, k.Explain, k.Filter, k.NextView, k.New, k.Quit}
}

// FullHelp is the keys that work in every view, one column per group; `?`
// shows them after the current view's own keys.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Back, k.NextView, k.View1, k.View2, k.View3, k.View4, k.View5, k.View6},
		{k.Freeze, k.Faster, k.Slower, k.Explain, k.Command, k.Help, k.Quit},
		{k.New, k.Update, k.Stop, k.Shell, k.Output},
	}
}

// navKeys move the cursor of a list.
type navKeys struct {
	Up, Down, PageUp, PageDown, Home, End key.Binding
}

func (k KeyMap) nav() navKeys {
	return navKeys{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Home: k.Home, End: k.End}
}

// column is the keys as one column of a help.
func (k navKeys) column() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End}
}

// named is b with another description in the help: the same keys, saying
// what they do in one view (enter opens a detail in one, a list in another).
func named(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}
