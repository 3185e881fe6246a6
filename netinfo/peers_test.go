package netinfo

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ctop-dev/ctop/nsinfo"
)

var (
	hostID = nsinfo.ID{Dev: 4, Ino: 4026531840}
	ctrID  = nsinfo.ID{Dev: 4, Ino: 4026532300}
	sbID   = nsinfo.ID{Dev: 4, Ino: 4026532400}
)

func veth(index int, name string, peerIndex, peerNSID int) Link {
	return Link{Index: index, Name: name, Type: "veth", Peer: &Peer{Index: peerIndex}, peerNSID: peerNSID}
}

// topology is a docker host: docker0 in the host with two veths, one to a
// container's eth0 and one to a sandbox's eth0, and a veth pair inside
// the host.
func topology() []Namespace {
	br := Link{Index: 3, Name: "docker0", Type: "bridge"}
	h1 := veth(7, "veth1a", 2, 0)
	h1.MasterIndex = 3
	h2 := veth(9, "veth2b", 2, 1)
	h2.MasterIndex = 3
	return []Namespace{
		{Target: Target{ID: hostID, PID: 1}, Links: []Link{
			{Index: 1, Name: "lo", Type: "loopback"}, br, h1, h2,
			veth(11, "in-a", 12, -1), veth(12, "in-b", 11, -1),
		}},
		{Target: Target{ID: ctrID, PID: 100}, Links: []Link{{Index: 1, Name: "lo"}, veth(2, "eth0", 7, 0)}},
		{Target: Target{ID: sbID, PID: 200}, Links: []Link{{Index: 1, Name: "lo"}, veth(2, "eth0", 9, 5)}},
	}
}

func peerOf(nss []Namespace, ns, link int) Peer { return *nss[ns].Links[link].Peer }

func TestResolveByNSID(t *testing.T) {
	nss := topology()
	// The host numbers the container 0 and the sandbox 1; the container
	// numbers the host 0, the sandbox numbers it 5.
	resolve(nss, []map[int]int{{0: 1, 1: 2}, {0: 0}, {5: 0}})
	for _, c := range []struct {
		ns, link int
		want     Peer
	}{
		{0, 2, Peer{NS: ctrID, Index: 2, Name: "eth0"}},
		{0, 3, Peer{NS: sbID, Index: 2, Name: "eth0"}},
		{0, 4, Peer{NS: hostID, Index: 12, Name: "in-b"}},
		{1, 1, Peer{NS: hostID, Index: 7, Name: "veth1a", Master: "docker0"}},
		{2, 1, Peer{NS: hostID, Index: 9, Name: "veth2b", Master: "docker0"}},
	} {
		if diff := cmp.Diff(c.want, peerOf(nss, c.ns, c.link)); diff != "" {
			t.Errorf("peer of %s in ns %d (-want +got):\n%s", nss[c.ns].Links[c.link].Name, c.ns, diff)
		}
	}
	if got := nss[0].Links[2].Master; got != "docker0" {
		t.Errorf("master of veth1a = %q, want docker0", got)
	}
	own := map[nsinfo.ID]string{hostID: "host", ctrID: "web", sbID: "box"}
	if got := nss[1].Links[1].PeerLabel(own); got != "host:veth1a" {
		t.Errorf("PeerLabel of the container's eth0 = %q", got)
	}
	if got := nss[1].Links[1].MasterLabel(); got != "docker0 (peer)" {
		t.Errorf("MasterLabel of the container's eth0 = %q", got)
	}
	if got := nss[0].Links[2].PeerLabel(own); got != "web:eth0" {
		t.Errorf("PeerLabel of veth1a = %q", got)
	}
}

// Without the id tables, the peer is found where exactly one veth points
// back; both container and sandbox have an eth0 with ifindex 2, but each
// points at a different host veth.
func TestResolveByPointingBack(t *testing.T) {
	nss := topology()
	resolve(nss, nil)
	if p := peerOf(nss, 0, 2); p.NS != ctrID || p.Name != "eth0" {
		t.Errorf("veth1a's peer = %+v, want the container's eth0", p)
	}
	if p := peerOf(nss, 0, 3); p.NS != sbID {
		t.Errorf("veth2b's peer = %+v, want the sandbox's eth0", p)
	}
	if p := peerOf(nss, 2, 1); p.NS != hostID || p.Name != "veth2b" {
		t.Errorf("sandbox eth0's peer = %+v, want the host's veth2b", p)
	}
}

// A peer in a namespace that was not read, or that two candidates fit,
// stays unresolved rather than guessed.
func TestResolveUnknown(t *testing.T) {
	nss := []Namespace{
		{Target: Target{ID: hostID}, Links: []Link{veth(7, "veth1a", 2, 0)}},
		{Target: Target{ID: ctrID}, Links: []Link{veth(2, "eth0", 7, 0)}},
		{Target: Target{ID: sbID}, Links: []Link{veth(2, "eth0", 7, 0)}},
	}
	resolve(nss, []map[int]int{{3: 1}})
	if p := peerOf(nss, 0, 0); p.Resolved() {
		t.Errorf("ambiguous peer resolved to %+v", p)
	}
	if got := nss[0].Links[0].PeerLabel(nil); got != "?:if2" {
		t.Errorf("PeerLabel of an unresolved peer = %q", got)
	}
}

func TestRates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	snap := func(at time.Time, rx, tx uint64) *Snapshot {
		return &Snapshot{Time: at, Namespaces: []Namespace{{Target: Target{ID: ctrID}, Links: []Link{
			{Index: 2, Counters: &Counters{RxBytes: rx, TxBytes: tx}},
			{Index: 3}, // no counters
		}}}}
	}
	got := Rates(snap(t0, 1000, 500), snap(t0.Add(2*time.Second), 3000, 1500))
	want := map[Key]Rate{{NS: ctrID, Index: 2}: {Rx: 1000, Tx: 500, OK: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Rates (-want +got):\n%s", diff)
	}
	// A counter that went back is a new interface: no rate.
	if got := Rates(snap(t0, 1000, 500), snap(t0.Add(time.Second), 10, 1500)); len(got) != 0 {
		t.Errorf("Rates across a reset = %v, want none", got)
	}
	if got := Rates(nil, snap(t0, 1, 1)); len(got) != 0 {
		t.Errorf("Rates without a previous sample = %v", got)
	}
}
