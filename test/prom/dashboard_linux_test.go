package prom

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/metrics/grafana"
)

// dashboardFile names the Grafana dashboard shipped with ctop serve
// (grafana.Dashboard) in messages.
const dashboardFile = "metrics/grafana/ctop.json"

// panelQuery is one query of one panel of the dashboard.
type panelQuery struct {
	panel, ref, expr string
}

// dashboardQueries parses every panel's queries out of the dashboard,
// rows' nested panels included, so a panel added there is tested here.
func dashboardQueries(t *testing.T) []panelQuery {
	t.Helper()
	b := grafana.Dashboard
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
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("parse %s: %v", dashboardFile, err)
	}
	var out []panelQuery
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, raw := range ps {
			var p panel
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("parse a panel of %s: %v", dashboardFile, err)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, q := range p.Targets {
				if q.Expr == "" {
					t.Errorf("panel %q query %s is empty", p.Title, q.RefID)
				}
				out = append(out, panelQuery{p.Title, q.RefID, q.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if len(out) == 0 {
		t.Fatalf("no queries in %s", dashboardFile)
	}
	return out
}

// substitute fills in the dashboard's variables as Grafana would for one
// selected name; a variable it does not know is left, and reported.
func substitute(expr, name string) (string, error) {
	r := strings.NewReplacer("${name}", regexp.QuoteMeta(name), "$name", regexp.QuoteMeta(name),
		"$__rate_interval", "20s", "${__rate_interval}", "20s")
	out := r.Replace(expr)
	if strings.Contains(out, "$") {
		return out, fmt.Errorf("query %q uses a variable the test does not fill in", expr)
	}
	return out, nil
}

// TestDashboardQueriesStatic needs no root: the dashboard parses, every
// query names only the variables the live test fills in, and selects by
// name.
func TestDashboardQueriesStatic(t *testing.T) {
	for _, q := range dashboardQueries(t) {
		if _, err := substitute(q.expr, "x"); err != nil {
			t.Errorf("panel %q: %v", q.panel, err)
		}
		if !strings.Contains(q.expr, `name=~"$name"`) {
			t.Errorf("panel %q query %s does not select by name: %s", q.panel, q.ref, q.expr)
		}
	}
}

// series runs an instant query and returns the label sets of its answer.
func series(api, q string) ([]map[string]string, error) {
	resp, err := http.Get(api + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r queryResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("decode answer to %s: %w", q, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, r.Error)
	}
	var out []map[string]string
	for _, s := range r.Data.Result {
		out = append(out, s.Metric)
	}
	return out, nil
}

// TestDashboardPanelsFindSandbox: a ctop sandbox with limits and some CPU
// and memory load, scraped by a real Prometheus through ctop serve; every
// query of every panel of the dashboard, with the sandbox's name as the
// name variable, must return a series of that sandbox.
func TestDashboardPanelsFindSandbox(t *testing.T) {
	queries := dashboardQueries(t)
	if os.Geteuid() != 0 {
		t.Skip("skip: needs root to run a sandbox")
	}
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("skip: no prometheus binary (apt-get install prometheus, or make deps)")
	}
	tmp := t.TempDir()
	ctop := buildCtop(t, tmp)

	// The sandbox: quota, memory and pids limits; a busy loop (throttled
	// at 0.2 CPUs) holding 8 MB in a shell variable.
	name := fmt.Sprintf("ctop-test-dash-%d", os.Getpid())
	run := exec.Command(ctop, "run", "-d", "--name", name, "--cpus", "0.2", "--memory", "64m", "--pids-limit", "32",
		"--", "sh", "-c", `x=$(head -c 8000000 /dev/zero | tr '\0' a); while :; do :; done`)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("ctop run: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ctop, "rm", "-f", name).CombinedOutput(); err != nil {
			t.Errorf("ctop rm -f %s: %v\n%s", name, err, out)
		}
	})

	st := startStack(t, tmp, ctop, promBin)
	deadline := time.Now().Add(120 * time.Second)
	for _, q := range queries {
		expr, err := substitute(q.expr, name)
		if err != nil {
			t.Fatal(err)
		}
		var last string
		for {
			got, err := series(st.api, expr)
			found := false
			for _, s := range got {
				found = found || s["name"] == name
			}
			if err == nil && found {
				t.Logf("panel %q %s: %d series", q.panel, q.ref, len(got))
				break
			}
			last = fmt.Sprintf("%d series, none named %s", len(got), name)
			if err != nil {
				last = err.Error()
			}
			if time.Now().After(deadline) {
				t.Fatalf("panel %q query %s found no series of sandbox %s within 120 s (%s):\n%s\nctop serve:\n%s",
					q.panel, q.ref, name, last, expr, tail(st.serveLog.String(), 2000))
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}
