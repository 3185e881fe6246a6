// Package chart draws ctop's time-series charts with ntcharts: one or two
// measured series over a sliding window, horizontal limit lines, and vertical
// marks at moments when something happened (a limit change, an OOM kill).
package chart

import (
	"math"
	"strconv"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/graph"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/linechart"
	"github.com/charmbracelet/lipgloss"
)

// Point is one sample: X in seconds relative to now (so ≤ 0), Y in the
// chart's unit.
type Point struct{ X, Y float64 }

// Series is a measured quantity drawn as a braille line.
type Series struct {
	Name   string
	Points []Point
	Style  lipgloss.Style
}

// Line is a limit drawn as a dashed horizontal line.
type Line struct {
	Name  string
	Y     float64
	Style lipgloss.Style
}

// Mark is a moment drawn as a dotted vertical line with Rune on top.
type Mark struct {
	X     float64
	Rune  rune
	Style lipgloss.Style
}

// Chart is the description of one chart; View renders it.
type Chart struct {
	Title  string
	Width  int
	Height int // including the title and legend row
	// Window is the width of the X axis in seconds.
	Window float64
	// YMax fixes the top of the Y axis; 0 picks it from the data and lines.
	YMax   float64
	YLabel func(float64) string
	Series []Series
	Lines  []Line
	Marks  []Mark
	// TitleStyle and AxisStyle are applied to the title and axes.
	TitleStyle, AxisStyle lipgloss.Style
}

// top returns the top of the Y axis: the largest value with 10% headroom.
func (c Chart) top() float64 {
	if c.YMax > 0 {
		return c.YMax
	}
	top := 0.0
	for _, s := range c.Series {
		for _, p := range s.Points {
			top = math.Max(top, p.Y)
		}
	}
	for _, l := range c.Lines {
		top = math.Max(top, l.Y)
	}
	if top <= 0 || math.IsNaN(top) || math.IsInf(top, 0) {
		return 1
	}
	return top * 1.1
}

// legend is the title followed by each series and line name.
func (c Chart) legend() string {
	parts := []string{c.TitleStyle.Render(c.Title)}
	for _, s := range c.Series {
		parts = append(parts, s.Style.Render("⣿ "+s.Name))
	}
	for _, l := range c.Lines {
		parts = append(parts, l.Style.Render("┄ "+l.Name))
	}
	return strings.Join(parts, "  ")
}

// View renders the chart in Width×Height cells. Too small a size gives the
// title alone (or nothing), never a panic.
func (c Chart) View() string {
	if c.Width < 1 || c.Height < 1 {
		return ""
	}
	title := lipgloss.NewStyle().MaxWidth(c.Width).Render(c.legend())
	if c.Height < 5 || c.Width < 16 {
		return title
	}
	window := c.Window
	if window <= 0 {
		window = 60
	}
	yl := c.YLabel
	if yl == nil {
		yl = func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }
	}
	top := c.top()
	lc := linechart.New(c.Width, c.Height-1, -window, 0, 0, top,
		linechart.WithXYSteps(12, 2),
		linechart.WithStyles(c.AxisStyle, c.AxisStyle, lipgloss.NewStyle()),
		linechart.WithXLabelFormatter(func(_ int, v float64) string {
			if v > -0.5 {
				return "now"
			}
			return strconv.Itoa(int(math.Round(v))) + "s"
		}),
		linechart.WithYLabelFormatter(func(_ int, v float64) string { return yl(v) }),
	)
	lc.DrawXYAxisAndLabel()
	for _, m := range c.Marks {
		if m.X < -window || m.X > 0 {
			continue
		}
		lc.DrawRuneLineWithStyle(canvas.Float64Point{X: m.X, Y: 0}, canvas.Float64Point{X: m.X, Y: top}, '┊', m.Style)
	}
	for _, l := range c.Lines {
		if l.Y < 0 || l.Y > top {
			continue
		}
		lc.DrawRuneLineWithStyle(canvas.Float64Point{X: -window, Y: l.Y}, canvas.Float64Point{X: 0, Y: l.Y}, '┄', l.Style)
	}
	for _, s := range c.Series {
		drawSeries(&lc, s, -window, top)
	}
	// The mark's rune goes on top of everything, so it is always seen.
	for _, m := range c.Marks {
		if m.X >= -window && m.X <= 0 {
			lc.DrawRuneWithStyle(canvas.Float64Point{X: m.X, Y: top}, m.Rune, m.Style)
		}
	}
	return lipgloss.JoinVertical(lipgloss.Left, title, lc.View())
}

// drawSeries draws s as braille over the graph area. Unlike ntcharts'
// DrawBrailleLine it replaces cells holding limit or mark runes instead of
// merging braille bits into them.
func drawSeries(lc *linechart.Model, s Series, minX, maxY float64) {
	if len(s.Points) == 0 || lc.GraphWidth() < 1 || lc.GraphHeight() < 1 {
		return
	}
	grid := graph.NewBrailleGrid(lc.GraphWidth(), lc.GraphHeight(), minX, 0, 0, maxY)
	clamp := func(p Point) canvas.Float64Point {
		return canvas.Float64Point{X: math.Max(minX, math.Min(0, p.X)), Y: math.Max(0, math.Min(maxY, p.Y))}
	}
	prev := grid.GridPoint(clamp(s.Points[0]))
	grid.Set(prev)
	for _, p := range s.Points[1:] {
		if p.X < minX {
			prev = grid.GridPoint(clamp(p))
			continue
		}
		cur := grid.GridPoint(clamp(p))
		for _, q := range graph.GetLinePoints(prev, cur) {
			grid.Set(q)
		}
		prev = cur
	}
	start := lc.Origin().X + 1
	for y, row := range grid.BraillePatterns() {
		for x, r := range row {
			if r == runes.BrailleBlockOffset {
				continue
			}
			at := canvas.Point{X: start + x, Y: y}
			if old := lc.Canvas.Cell(at).Rune; runes.IsBraillePattern(old) {
				r = runes.CombineBraillePatterns(old, r)
			}
			lc.Canvas.SetCell(at, canvas.NewCellWithStyle(r, s.Style))
		}
	}
}
