package metrics

import (
	"testing"

	"github.com/ctop-dev/ctop/nsinfo"
	"github.com/google/go-cmp/cmp"
)

func TestCountNamespaces(t *testing.T) {
	id := func(ino uint64) nsinfo.ID { return nsinfo.ID{Dev: 4, Ino: ino} }
	proc := func(pid int, net, pid_ uint64) nsinfo.Process {
		p := nsinfo.Process{PID: pid}
		if net != 0 {
			p.NS.Set(nsinfo.Net, id(net))
		}
		if pid_ != 0 {
			p.NS.Set(nsinfo.PID, id(pid_))
		}
		return p
	}
	var host nsinfo.NSSet
	host.Set(nsinfo.Net, id(100))
	// The host's pid namespace is unknown: no outside count for pid.
	procs := []nsinfo.Process{
		proc(1, 100, 200),
		proc(2, 100, 200),
		proc(10, 101, 201), // a sandbox
		proc(11, 101, 201),
		proc(12, 102, 0), // its pid link unreadable
		proc(13, 0, 0),   // nothing readable
	}
	got := CountNamespaces(procs, host)
	byType := map[nsinfo.Type]NamespaceCount{}
	for _, n := range got {
		byType[n.Type] = n
	}
	if len(got) != len(nsinfo.Types()) {
		t.Errorf("%d types counted, want %d", len(got), len(nsinfo.Types()))
	}
	want := map[nsinfo.Type]NamespaceCount{
		"net":  {Type: "net", Namespaces: 3, Processes: 5, OutsideHost: 3, HostKnown: true},
		"pid":  {Type: "pid", Namespaces: 2, Processes: 4},
		"user": {Type: "user"},
	}
	for typ, w := range want {
		if diff := cmp.Diff(w, byType[typ]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", typ, diff)
		}
	}
}
