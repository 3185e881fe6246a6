package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/sandbox"
)

// field is one input of a form. A field with choices cycles through them
// with ←/→ or space instead of taking text.
type field struct {
	label   string
	flag    string // the CLI flag it maps to, for validation and errors
	opt     *sandbox.Option
	hint    string
	input   textinput.Model
	choices []string
	initial string
	err     string
}

func (f field) value() string { return strings.TrimSpace(f.input.Value()) }

func newField(label, flag, value, hint string, choices ...string) field {
	in := textinput.New()
	in.Prompt = ""
	in.SetValue(value)
	in.CharLimit = 256
	// A steady cursor: no blink timers running under the forms.
	in.Cursor.SetMode(cursor.CursorStatic)
	return field{label: label, flag: flag, hint: hint, input: in, choices: choices, initial: value}
}

// optionField is the field of an option of sandbox's table: labelled by
// its name, its help as the hint, an example as the placeholder.
func optionField(o *sandbox.Option, value string) field {
	if value == "" && len(o.Choices) > 0 {
		value = o.Choices[0]
	}
	f := newField(strings.ReplaceAll(o.Name, "-", " "), o.Name, value, o.Help, o.Choices...)
	f.input.Placeholder = o.Example
	f.opt = o
	return f
}

// form is a column of labelled fields with errors shown beside each, and a
// form-wide error under them. submit is set when the user submits; the
// owner reads and clears it.
type form struct {
	ctx    *Context
	title  string
	fields []field
	focus  int
	err    string
	busy   string
	submit bool
}

func newForm(ctx *Context, title string, fields ...field) form {
	f := form{ctx: ctx, title: title, fields: fields}
	f.setFocus(0)
	return f
}

func (f *form) setFocus(i int) {
	n := len(f.fields)
	f.focus = (i%n + n) % n
	for j := range f.fields {
		if j == f.focus {
			f.fields[j].input.Focus()
		} else {
			f.fields[j].input.Blur()
		}
	}
}

// get returns the value of the field for flag.
func (f form) get(flag string) string {
	for _, fl := range f.fields {
		if fl.flag == flag {
			return fl.value()
		}
	}
	return ""
}

// setErr puts an error beside the field for flag, or under the form.
func (f *form) setErr(flag, msg string) {
	for i := range f.fields {
		if f.fields[i].flag == flag {
			f.fields[i].err = msg
			return
		}
	}
	f.err = msg
}

func (f *form) clearErrs() {
	f.err = ""
	for i := range f.fields {
		f.fields[i].err = ""
	}
}

func (f form) hasErrs() bool {
	if f.err != "" {
		return true
	}
	for _, fl := range f.fields {
		if fl.err != "" {
			return true
		}
	}
	return false
}

// Update moves between fields (tab, ↑/↓, enter), cycles choices, edits text,
// and submits on enter in the last field or ctrl+s.
func (f form) Update(msg tea.Msg) (form, tea.Cmd) {
	if f.busy != "" {
		return f, nil
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return f, nil
	}
	cur := &f.fields[f.focus]
	switch km.String() {
	case "tab", "down":
		f.setFocus(f.focus + 1)
		return f, nil
	case "shift+tab", "up":
		f.setFocus(f.focus - 1)
		return f, nil
	case "ctrl+s":
		f.submit = true
		return f, nil
	case "enter":
		if f.focus == len(f.fields)-1 {
			f.submit = true
		} else {
			f.setFocus(f.focus + 1)
		}
		return f, nil
	}
	if len(cur.choices) > 0 {
		switch km.String() {
		case "left", "right", " ":
			i := 0
			for j, c := range cur.choices {
				if c == cur.value() {
					i = j
				}
			}
			if km.String() == "left" {
				i += len(cur.choices) - 1
			} else {
				i++
			}
			cur.input.SetValue(cur.choices[i%len(cur.choices)])
		}
		return f, nil
	}
	var cmd tea.Cmd
	cur.input, cmd = cur.input.Update(msg)
	cur.err = ""
	return f, cmd
}

// View renders the form in w×h cells.
func (f *form) View(w, h int) string {
	st := f.ctx.Styles
	labelW := 0
	for _, fl := range f.fields {
		labelW = max(labelW, len(fl.label))
	}
	lines := []string{st.Title.Render(f.title), ""}
	for i, fl := range f.fields {
		label := fit(fl.label, labelW)
		val := fl.input.View()
		if len(fl.choices) > 0 {
			val = "‹ " + fl.value() + " ›"
		}
		if i == f.focus {
			label = st.FocusedField.Render(label)
		} else {
			label = st.BlurredField.Render(label)
		}
		line := label + "  " + val
		lines = append(lines, fit(line, w))
		switch {
		case fl.err != "":
			lines = append(lines, fit(strings.Repeat(" ", labelW+2)+st.Error.Render(fl.err), w))
		case i == f.focus && fl.hint != "":
			lines = append(lines, fit(strings.Repeat(" ", labelW+2)+st.Faint.Render(fl.hint), w))
		}
	}
	lines = append(lines, "")
	if f.err != "" {
		lines = append(lines, st.Error.Render(f.err))
	}
	if f.busy != "" {
		lines = append(lines, st.Warn.Render(f.busy))
	} else {
		lines = append(lines, st.Faint.Render("tab/↑↓ move · enter next (last: apply) · ctrl+s apply · esc cancel"))
	}
	return clampLines(strings.Join(lines, "\n"), w, h)
}

// splitCommand splits a command line at spaces, keeping quoted parts
// ('…' or "…") together.
func splitCommand(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	var quote rune
	quoted := false
	for _, r := range s {
		switch {
		case in && r == quote:
			in = false
		case in:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			in, quote, quoted = true, r, true
		case r == ' ' || r == '\t':
			if cur.Len() > 0 || quoted {
				out = append(out, cur.String())
				cur.Reset()
				quoted = false
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 || quoted {
		out = append(out, cur.String())
	}
	return out
}
