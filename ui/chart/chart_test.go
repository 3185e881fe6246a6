package chart

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
)

// A chart fits its size, draws the series, the limit line and the mark,
// and never panics however small.
func TestChart(t *testing.T) {
	c := Chart{Title: "CPU", Width: 40, Height: 8, Window: 60,
		Series: []Series{{Name: "used", Points: []Point{{-60, 0}, {-30, 1}, {0, 0.5}}}},
		Lines:  []Line{{Name: "quota", Y: 1}},
		Marks:  []Mark{{X: -30, Rune: '*'}},
	}
	v := c.View()
	lines := strings.Split(v, "\n")
	if len(lines) != 8 {
		t.Fatalf("%d lines, want 8:\n%s", len(lines), v)
	}
	for _, l := range lines {
		if w := lipgloss.Width(l); w > 40 {
			t.Errorf("line %q is %d wide", l, w)
		}
	}
	for _, want := range []string{"┄", "*", "┊", "-60s"} {
		if !strings.Contains(v, want) {
			t.Errorf("chart lacks %q:\n%s", want, v)
		}
	}
	if !strings.ContainsAny(v, "⠁⠂⠄⡀⠈⠐⠠⢀⣀⠤⠒⠉") {
		t.Errorf("no braille series drawn:\n%s", v)
	}
	for w := 0; w < 30; w++ {
		for h := 0; h < 10; h++ {
			c.Width, c.Height = w, h
			_ = c.View()
		}
	}
}
