package main

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/ctop-dev/ctop/cgroup"
	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/sandbox"
)

// newResolver returns the names resolver for the live host, with the
// sandboxes recorded in stateDir ("" for the invoking user's default).
func newResolver(stateDir string) *names.Resolver {
	if stateDir == "" {
		stateDir = sandbox.DefaultStateDir
		if os.Geteuid() != 0 {
			stateDir = sandbox.UserStateDir()
		}
	}
	return names.New(names.Options{SandboxDir: stateDir})
}

// groupOf turns a command's target into a cgroup path: the path when the
// group exists, else the one group whose container name, short id, unit,
// pod or sandbox name it is; a path whose last part is a short id
// (/docker/36219a26d503) finds its container. It lists the tree once. More
// than one match is an error listing them.
func groupOf(f *cgroup.FS, r *names.Resolver, target string) (string, error) {
	p := path.Clean("/" + target)
	paths, err := f.Paths("/", 0)
	if err != nil {
		return "", err
	}
	if slices.Contains(paths, p) {
		return p, nil
	}
	m := r.Names(paths)
	got, err := matchName(target, m)
	if err == nil || !strings.HasPrefix(target, "/") {
		return got, err
	}
	under := map[string]names.Name{}
	for q, n := range m {
		if path.Dir(q) == path.Dir(p) {
			under[q] = n
		}
	}
	if got, err2 := matchName(path.Base(p), under); err2 == nil {
		return got, nil
	}
	return "", err
}

// matchName finds the group named target among m: by label, own name,
// unit (with or without .service), pod name, or a prefix of at least four
// characters of a container id.
func matchName(target string, m map[string]names.Name) (string, error) {
	var hits []string
	for p, n := range m {
		if nameMatches(n, target) {
			hits = append(hits, p)
		}
	}
	switch len(hits) {
	case 0:
		return "", fmt.Errorf("no cgroup, container, unit or sandbox named %q (list them with: ctop cgroups)", target)
	case 1:
		return hits[0], nil
	}
	slices.SortFunc(hits, cgroup.ComparePaths)
	var c []string
	for _, p := range hits {
		c = append(c, m[p].String()+" ("+p+")")
	}
	return "", fmt.Errorf("%q names %d groups: %s: give the path", target, len(hits), strings.Join(c, ", "))
}

func nameMatches(n names.Name, t string) bool {
	switch {
	case t == "":
		return false
	case t == n.String(), t == n.Name && n.Name != "" && n.Kind != names.KindUser && n.Kind != names.KindSession,
		t == n.Unit, n.Unit != "" && t+".service" == n.Unit,
		n.Kind == names.KindPod && (t == n.Pod || t == n.PodUID):
		return true
	case n.ID != "" && len(t) >= 4 && strings.HasPrefix(n.ID, t):
		return true
	}
	return false
}

// describe says in words what a Name is, for the text of inspect, ps and
// ns: "docker container shop-web-1 (36219a26d503, image nginx:1.27)",
// "pod shop/web", "systemd unit cron.service", "sandbox busy".
func describe(n names.Name) string {
	switch n.Kind {
	case "":
		return ""
	case names.KindContainer:
		rt := string(n.Runtime)
		if rt == "" {
			rt = "kubernetes"
		}
		extra := []string{n.ShortID}
		if n.Image != "" {
			extra = append(extra, "image "+n.Image)
		}
		if n.Project != "" {
			extra = append(extra, "compose "+n.Project+"/"+n.Service)
		}
		return rt + " container " + n.String() + " (" + strings.Join(extra, ", ") + ")"
	case names.KindPod:
		return "pod " + n.String() + " (qos " + n.QoS + ")"
	case names.KindSandbox:
		return "ctop sandbox " + n.Name
	case names.KindLXC:
		return "lxc container " + n.Name
	case names.KindMachine:
		return "machine " + n.Name + " (" + n.Unit + ")"
	case names.KindSession:
		return "login session " + n.Name + " (" + n.Unit + ")"
	case names.KindUser:
		return "user " + n.Name + "'s " + n.Unit
	}
	return "systemd " + string(n.Kind) + " " + n.Unit
}

// owners returns, for each cgroup path of ps, the name of what owns it
// (names.Owner), resolving every ancestor once.
func owners(r *names.Resolver, ps []string) map[string]names.Name {
	m := r.Names(names.Ancestors(ps))
	out := make(map[string]names.Name, len(ps))
	for _, p := range ps {
		if n, _ := names.Owner(p, m); n.Known() {
			out[p] = n
		}
	}
	return out
}

// firstPid returns the lowest pid in the group at p or below it, for
// commands that take a name where they want a process.
func firstPid(f *cgroup.FS, p string) (int, error) {
	m, err := cgroup.Load(f, p)
	if err != nil {
		return 0, err
	}
	pids, err := m.Procs()
	if err != nil {
		return 0, err
	}
	if len(pids) == 0 {
		return 0, fmt.Errorf("no process runs in %s", p)
	}
	return pids[0], nil
}
