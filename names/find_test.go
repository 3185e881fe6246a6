package names

import (
	"strings"
	"testing"
	"time"
)

func web() Name {
	n := Parse("/system.slice/docker-" + dockerID + ".scope")
	n.Name, n.Image = "shop-web-1", "nginx:1.27"
	return n
}

func TestMatch(t *testing.T) {
	webPath := "/system.slice/docker-" + dockerID + ".scope"
	other := strings.Repeat("36", 32)
	m := map[string]Name{
		webPath:                      web(),
		"/docker/" + other:           Parse("/docker/" + other),
		"/system.slice":              Parse("/system.slice"),
		"/system.slice/cron.service": Parse("/system.slice/cron.service"),
		"/ctop/busy":                 Parse("/ctop/busy"),
		"/user.slice/user-0.slice":   Parse("/user.slice/user-0.slice"),
	}
	for _, tc := range []struct{ target, want, err string }{
		{"shop-web-1", webPath, ""},
		{"36219a26d503", webPath, ""},
		{dockerID, webPath, ""},
		{"cron.service", "/system.slice/cron.service", ""},
		{"cron", "/system.slice/cron.service", ""},
		{"busy", "/ctop/busy", ""},
		{"docker:363636363636", "/docker/" + other, ""},
		{"3621", webPath, ""},
		{"36", "", `no cgroup, container, unit or sandbox named "36"`},
		{"0", "", `no cgroup`},
		{"nope", "", `no cgroup, container, unit or sandbox named "nope"`},
	} {
		got, err := Match(tc.target, m)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Match(%q) = %q, %v; want %q, error with %q", tc.target, got, err, tc.want, tc.err)
		}
	}
	busy := Name{Kind: KindSandbox, Name: "busy"}
	_, err := Match("busy", map[string]Name{"/b": busy, "/a": busy})
	if err == nil || !strings.Contains(err.Error(), "names 2 groups") || !strings.Contains(err.Error(), "(/a)") || strings.Count(err.Error(), "\n") > 0 {
		t.Errorf("an ambiguous name: %v, want one line naming both groups", err)
	}
}

// TestFind checks the order Find tries: a path as it is, then a name, then
// a path whose last part names a sibling's container.
func TestFind(t *testing.T) {
	dir := t.TempDir()
	r := New(Options{Root: dir, Engines: []Engine{{Runtime: RuntimeDocker, Socket: "/var/run/docker.sock"}}, Timeout: 50 * time.Millisecond})
	ctr := "/docker/" + dockerID
	paths := []string{"/", "/docker", ctr, "/system.slice", "/system.slice/cron.service"}
	for _, tc := range []struct{ target, want, err string }{
		{"/system.slice", "/system.slice", ""},
		{"system.slice/cron.service", "/system.slice/cron.service", ""},
		{"cron", "/system.slice/cron.service", ""},
		{"36219a26d503", ctr, ""},
		{"/docker/36219a26d503", ctr, ""},
		{"/system.slice/36219a26d503", "", `no cgroup, container, unit or sandbox named "/system.slice/36219a26d503"`},
		{"nope", "", `named "nope"`},
	} {
		got, err := r.Find(paths, tc.target)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("Find(%q) = %q, %v; want %q, error with %q", tc.target, got, err, tc.want, tc.err)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		n    Name
		want string
	}{
		{web(), "docker container shop-web-1 (36219a26d503, image nginx:1.27)"},
		{Parse("/system.slice/cron.service"), "systemd unit cron.service"},
		{Parse("/ctop/busy"), "ctop sandbox busy (cgroupfs)"},
		{Name{Kind: KindSandbox, Runtime: RuntimeCtop, Name: "busy", Unit: "ctop-busy.scope"}, "ctop sandbox busy (systemd ctop-busy.scope)"},
		{Name{Kind: KindPod, PodNamespace: "shop", Pod: "web", QoS: "burstable"}, "pod shop/web (qos burstable)"},
		{Name{}, ""},
	} {
		if got := tc.n.Describe(); got != tc.want {
			t.Errorf("Describe(%+v) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
