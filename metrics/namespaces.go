package metrics

import "github.com/ctop-dev/ctop/nsinfo"

// CountNamespaces counts, for every namespace type, the distinct
// namespaces procs are in and how many of procs are outside host's
// namespace of that type. Links that could not be read (another user's
// process, without root) are left out of both counts; a type whose host
// namespace is unknown gets no outside count (HostKnown false).
func CountNamespaces(procs []nsinfo.Process, host nsinfo.NSSet) []NamespaceCount {
	types := nsinfo.Types()
	out := make([]NamespaceCount, 0, len(types))
	for _, t := range types {
		h := host.Get(t)
		n := NamespaceCount{Type: t, HostKnown: h.Known()}
		seen := map[nsinfo.ID]struct{}{}
		for i := range procs {
			id := procs[i].NS.Get(t)
			if !id.Known() {
				continue
			}
			n.Processes++
			seen[id] = struct{}{}
			if n.HostKnown && id != h {
				n.OutsideHost++
			}
		}
		n.Namespaces = len(seen)
		out = append(out, n)
	}
	return out
}
