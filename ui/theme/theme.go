// Package theme holds ctop's semantic colours and the styles built from them.
// Colours are adaptive: each has a light- and a dark-terminal value, and the
// renderer picks one from the terminal's background.
package theme

import "github.com/charmbracelet/lipgloss"

// Theme names colours by what they mean, not by how they look.
type Theme struct {
	PrimaryText   lipgloss.AdaptiveColor
	FaintText     lipgloss.AdaptiveColor
	SelectedBg    lipgloss.AdaptiveColor
	Accent        lipgloss.AdaptiveColor
	Border        lipgloss.AdaptiveColor
	WarnText      lipgloss.AdaptiveColor
	ErrorText     lipgloss.AdaptiveColor
	OKText        lipgloss.AdaptiveColor
	Isolated      lipgloss.AdaptiveColor // a namespace not shared with the host
	SeriesUsage   lipgloss.AdaptiveColor
	SeriesSecond  lipgloss.AdaptiveColor
	SeriesLimit   lipgloss.AdaptiveColor
	SeriesSoft    lipgloss.AdaptiveColor // a soft limit such as memory.high
	BarFill       lipgloss.AdaptiveColor
	BarEmpty      lipgloss.AdaptiveColor
	BannerBg      lipgloss.AdaptiveColor
	BannerText    lipgloss.AdaptiveColor
	TabActiveText lipgloss.AdaptiveColor
	// Mono is a theme without colours (NO_COLOR, no-color.org): what
	// colour marks elsewhere, reverse video, bold and underline mark here.
	Mono bool
}

// NoColor is the theme for NO_COLOR: every colour empty, so no colour
// sequence is written, and Mono set, so the cursor row and the active tab
// stay visible through attributes, which NO_COLOR leaves alone.
func NoColor() Theme { return Theme{Mono: true} }

// Default is the theme ctop ships with.
func Default() Theme {
	c := func(light, dark string) lipgloss.AdaptiveColor {
		return lipgloss.AdaptiveColor{Light: light, Dark: dark}
	}
	return Theme{
		PrimaryText:   c("#1a1a1a", "#e4e4e4"),
		FaintText:     c("#6c6c6c", "#8a8a8a"),
		SelectedBg:    c("#d7e3f4", "#2f3b54"),
		Accent:        c("#005fd7", "#5fafff"),
		Border:        c("#a8a8a8", "#4e4e4e"),
		WarnText:      c("#af5f00", "#ffaf00"),
		ErrorText:     c("#d70000", "#ff5f5f"),
		OKText:        c("#008700", "#5fd75f"),
		Isolated:      c("#8700af", "#d787ff"),
		SeriesUsage:   c("#005fd7", "#5fafff"),
		SeriesSecond:  c("#008787", "#5fd7d7"),
		SeriesLimit:   c("#d70000", "#ff5f5f"),
		SeriesSoft:    c("#af5f00", "#ffaf00"),
		BarFill:       c("#005fd7", "#5fafff"),
		BarEmpty:      c("#d0d0d0", "#3a3a3a"),
		BannerBg:      c("#ffd787", "#5f3f00"),
		BannerText:    c("#1a1a1a", "#ffffff"),
		TabActiveText: c("#005fd7", "#5fafff"),
	}
}

// Styles are the lipgloss styles every view shares, built once per renderer.
type Styles struct {
	Text, Faint, Bold, Accent  lipgloss.Style
	Warn, Error, OK, Isolated  lipgloss.Style
	Header, Selected, Title    lipgloss.Style
	TabActive, TabInactive     lipgloss.Style
	Banner, Status, Box        lipgloss.Style
	BarFill, BarEmpty          lipgloss.Style
	SeriesUsage, SeriesSecond  lipgloss.Style
	SeriesLimit, SeriesSoft    lipgloss.Style
	FocusedField, BlurredField lipgloss.Style
}

// NewStyles builds the styles of t on renderer r.
func NewStyles(r *lipgloss.Renderer, t Theme) Styles {
	s := r.NewStyle
	st := Styles{
		Text:         s().Foreground(t.PrimaryText),
		Faint:        s().Foreground(t.FaintText),
		Bold:         s().Bold(true),
		Accent:       s().Foreground(t.Accent),
		Warn:         s().Foreground(t.WarnText),
		Error:        s().Foreground(t.ErrorText).Bold(true),
		OK:           s().Foreground(t.OKText),
		Isolated:     s().Foreground(t.Isolated).Bold(true),
		Header:       s().Bold(true).Foreground(t.FaintText),
		Selected:     s().Background(t.SelectedBg).Bold(true),
		Title:        s().Bold(true).Foreground(t.Accent),
		TabActive:    s().Bold(true).Underline(true).Foreground(t.TabActiveText),
		TabInactive:  s().Foreground(t.FaintText),
		Banner:       s().Background(t.BannerBg).Foreground(t.BannerText),
		Status:       s().Foreground(t.FaintText),
		Box:          s().Border(lipgloss.RoundedBorder()).BorderForeground(t.Border).Padding(0, 1),
		BarFill:      s().Foreground(t.BarFill),
		BarEmpty:     s().Foreground(t.BarEmpty),
		SeriesUsage:  s().Foreground(t.SeriesUsage),
		SeriesSecond: s().Foreground(t.SeriesSecond),
		SeriesLimit:  s().Foreground(t.SeriesLimit),
		SeriesSoft:   s().Foreground(t.SeriesSoft),
		FocusedField: s().Foreground(t.Accent).Bold(true),
		BlurredField: s().Foreground(t.FaintText),
	}
	if t.Mono {
		st.Selected = s().Reverse(true).Bold(true)
		st.TabActive = s().Reverse(true).Bold(true).Underline(true)
		st.Faint = s().Faint(true)
		st.TabInactive = s()
	}
	return st
}
