package prom

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ctop-dev/ctop/metrics/grafana"
)

// dashboardQueries are the dashboard's queries (grafana.Queries); a
// panel without a query, or an empty one, fails the test.
func dashboardQueries(t *testing.T) []grafana.Query {
	t.Helper()
	qs, err := grafana.Queries(grafana.Dashboard)
	if err != nil {
		t.Fatalf("metrics/grafana/ctop.json: %v", err)
	}
	return qs
}

// TestDashboardQueriesStatic needs no root: the dashboard parses, every
// query names only the variables the live test fills in, and selects by
// name.
func TestDashboardQueriesStatic(t *testing.T) {
	for _, q := range dashboardQueries(t) {
		if _, err := grafana.Substitute(q.Expr, "x"); err != nil {
			t.Errorf("panel %q: %v", q.Panel, err)
		}
		if !strings.Contains(q.Expr, `name=~"$name"`) {
			t.Errorf("panel %q query %s does not select by name: %s", q.Panel, q.RefID, q.Expr)
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
		expr, err := grafana.Substitute(q.Expr, name)
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
				t.Logf("panel %q %s: %d series", q.Panel, q.RefID, len(got))
				break
			}
			last = fmt.Sprintf("%d series, none named %s", len(got), name)
			if err != nil {
				last = err.Error()
			}
			if time.Now().After(deadline) {
				t.Fatalf("panel %q query %s found no series of sandbox %s within 120 s (%s):\n%s\nctop serve:\n%s",
					q.Panel, q.RefID, name, last, expr, tail(st.serveLog.String(), 2000))
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}
