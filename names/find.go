package names

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/ctop-dev/ctop/cgroup"
)

// Find turns a command's target into one of paths (the host's cgroup
// paths, listed once by the caller): the target itself when it is one of
// them, else the one group whose container name, short id, unit, pod or
// sandbox name it is (Match); a path whose last part is a short id
// (/docker/36219a26d503) finds its container among its siblings. More
// than one match is an error listing them.
func (r *Resolver) Find(paths []string, target string) (string, error) {
	p := path.Clean("/" + target)
	if slices.Contains(paths, p) {
		return p, nil
	}
	m := r.Names(paths)
	got, err := Match(target, m)
	if err == nil || !strings.HasPrefix(target, "/") {
		return got, err
	}
	under := map[string]Name{}
	for q, n := range m {
		if path.Dir(q) == path.Dir(p) {
			under[q] = n
		}
	}
	if got, err2 := Match(path.Base(p), under); err2 == nil {
		return got, nil
	}
	return "", err
}

// Match finds the group named target among m: by label, own name, unit
// (with or without .service), pod name, or a prefix of at least four
// characters of a container id. No match, or more than one, is a one-line
// error; the second lists the candidates so the user can give a path.
func Match(target string, m map[string]Name) (string, error) {
	var hits []string
	for p, n := range m {
		if n.matches(target) {
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

// matches reports whether t names n. A user's or session's bare name
// ("0", "3") would match too much, so they match by label or unit only.
func (n Name) matches(t string) bool {
	switch {
	case t == "":
		return false
	case t == n.String(), t == n.Name && n.Name != "" && n.Kind != KindUser && n.Kind != KindSession,
		t == n.Unit, n.Unit != "" && t+".service" == n.Unit,
		n.Kind == KindPod && (t == n.Pod || t == n.PodUID):
		return true
	case n.ID != "" && len(t) >= 4 && strings.HasPrefix(n.ID, t):
		return true
	}
	return false
}

// Owners returns, for each cgroup path of ps, the name of what owns it
// (Owner), resolving every ancestor once. Paths nothing known owns are
// left out.
func (r *Resolver) Owners(ps []string) map[string]Name {
	m := r.Names(Ancestors(ps))
	out := make(map[string]Name, len(ps))
	for _, p := range ps {
		if n, _ := Owner(p, m); n.Known() {
			out[p] = n
		}
	}
	return out
}
