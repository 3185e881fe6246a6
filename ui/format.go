package ui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/ctop-dev/ctop/cgroup"
)

// humanBytes writes n in IEC units with at most 3 significant digits: 512,
// 4.0K, 1.5G.
func humanBytes(n float64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%.0f", n)
	}
	i := -1
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if n < 10 {
		return fmt.Sprintf("%.1f%c", n, units[i])
	}
	return fmt.Sprintf("%.0f%c", n, units[i])
}

// limitBytes writes a byte limit: n/a, max or the size.
func limitBytes(l cgroup.Limit) string {
	switch {
	case !l.OK:
		return "n/a"
	case l.Unlimited:
		return "max"
	}
	return humanBytes(float64(l.V))
}

// u64Bytes writes a byte reading or n/a.
func u64Bytes(u cgroup.U64) string {
	if !u.OK {
		return "n/a"
	}
	return humanBytes(float64(u.V))
}

// pct writes a percentage with one decimal below 10.
func pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	if v < 9.95 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// cores writes a CPU count: 0.5, 2, 1.25.
func cores(c float64) string {
	s := fmt.Sprintf("%.2f", c)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// bar draws a fraction 0..1 as width cells.
func bar(ctx *Context, frac float64, width int) string {
	if width <= 0 {
		return ""
	}
	if math.IsNaN(frac) || frac < 0 {
		frac = 0
	}
	if frac > 1 {
		frac = 1
	}
	n := int(math.Round(frac * float64(width)))
	return ctx.Styles.BarFill.Render(strings.Repeat("█", n)) + ctx.Styles.BarEmpty.Render(strings.Repeat("░", width-n))
}

// fit truncates s to width cells (with an ellipsis) and pads it on the right.
func fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if lipgloss.Width(s) > width {
		s = ansi.Truncate(s, width, "…")
	}
	if w := lipgloss.Width(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// fitRight truncates s to width cells and pads it on the left.
func fitRight(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if lipgloss.Width(s) > width {
		s = ansi.Truncate(s, width, "…")
	}
	if w := lipgloss.Width(s); w < width {
		s = strings.Repeat(" ", width-w) + s
	}
	return s
}

// clampLines cuts s to at most h lines of at most w cells, so a view never
// grows past the terminal.
func clampLines(s string, w, h int) string {
	if h <= 0 || w <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if lipgloss.Width(l) > w {
			lines[i] = ansi.Truncate(l, w, "")
		}
	}
	return strings.Join(lines, "\n")
}

// fitTail is fit that keeps the end of s, for paths: …/sshd.service.
func fitTail(s string, width int) string {
	r := []rune(s)
	if width > 1 && len(r) > width {
		s = "…" + string(r[len(r)-width+1:])
	}
	return fit(s, width)
}
