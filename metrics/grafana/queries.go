package grafana

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Query is one query of one panel of the dashboard.
type Query struct {
	Panel, RefID, Expr string
}

// Queries parses every panel's queries out of the dashboard, rows' nested
// panels included, so that a test of the queries covers a panel added
// later. A panel other than a row without a query, or an empty query, is
// an error.
func Queries(dashboard []byte) ([]Query, error) {
	type panel struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(dashboard, &d); err != nil {
		return nil, fmt.Errorf("parse the dashboard: %w", err)
	}
	var out []Query
	var errs []error
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, raw := range ps {
			var p panel
			if err := json.Unmarshal(raw, &p); err != nil {
				errs = append(errs, fmt.Errorf("parse a panel: %w", err))
				continue
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				errs = append(errs, fmt.Errorf("panel %q has no query", p.Title))
			}
			for _, q := range p.Targets {
				if q.Expr == "" {
					errs = append(errs, fmt.Errorf("panel %q query %s is empty", p.Title, q.RefID))
				}
				out = append(out, Query{p.Title, q.RefID, q.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if len(out) == 0 {
		errs = append(errs, errors.New("the dashboard has no query"))
	}
	return out, errors.Join(errs...)
}

// Substitute fills in a query's variables as Grafana does for one
// selected name; a variable it does not know is left, and is an error.
func Substitute(expr, name string) (string, error) {
	r := strings.NewReplacer("${name}", regexp.QuoteMeta(name), "$name", regexp.QuoteMeta(name),
		"$__rate_interval", "20s", "${__rate_interval}", "20s")
	out := r.Replace(expr)
	if strings.Contains(out, "$") {
		return out, fmt.Errorf("query %q uses a variable the test does not fill in", expr)
	}
	return out, nil
}
