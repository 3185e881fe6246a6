package theme

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func ansi() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	r.SetHasDarkBackground(true)
	return r
}

// NoColor has no colour at all, and marks the selection and the active
// tab with attributes: reverse video, bold, underline.
func TestNoColor(t *testing.T) {
	th := NoColor()
	v := reflect.ValueOf(th)
	for i := 0; i < v.NumField(); i++ {
		if c, ok := v.Field(i).Interface().(lipgloss.AdaptiveColor); ok && (c.Light != "" || c.Dark != "") {
			t.Errorf("NoColor's %s is %v", v.Type().Field(i).Name, c)
		}
	}
	st := NewStyles(ansi(), th)
	for name, c := range map[string]struct {
		s    lipgloss.Style
		want string
	}{
		"Selected":  {st.Selected, "\x1b[1;7m"},
		"TabActive": {st.TabActive, "\x1b[1;4;7"},
	} {
		if got := c.s.Render("x"); !strings.HasPrefix(got, c.want) {
			t.Errorf("NoColor %s renders %q, want it to start with %q", name, got, c.want)
		}
	}
	// The default theme marks the selection with a background colour.
	if got := NewStyles(ansi(), Default()).Selected.Render("x"); !strings.Contains(got, "48;5;") {
		t.Errorf("Default Selected renders %q, want a background colour", got)
	}
}
