package netinfo

import (
	"strconv"
	"time"

	"github.com/ctop-dev/ctop/nsinfo"
)

// Target is one network namespace to read and how to reach it.
type Target struct {
	// ID is the namespace's (device, inode) identity.
	ID nsinfo.ID `json:"id"`
	// PID is the lowest pid in the namespace, whose /proc/PID/ns/net is
	// opened to enter it; 0 when no process is in it (a namespace kept
	// only by a bind mount, as `ip netns add` makes).
	PID int `json:"pid,omitempty"`
	// Cgroup is that process's cgroup path, which names its owner.
	Cgroup string `json:"cgroup,omitempty"`
	// Mount is a bind mount of the namespace (/run/netns/NAME,
	// /run/docker/netns/ID), "" when none; Name is its file name, what
	// `ip netns` lists.
	Mount string `json:"mount,omitempty"`
	Name  string `json:"name,omitempty"`
}

// Counters are a link's cumulative traffic counters (IFLA_STATS64), as
// `ip -s link` shows them; the rx side is what the interface received.
type Counters struct {
	RxBytes   uint64 `json:"rx_bytes"`
	TxBytes   uint64 `json:"tx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	TxPackets uint64 `json:"tx_packets"`
}

// Peer is the other end of a veth pair.
type Peer struct {
	// NS is the namespace the peer is in; the zero ID when it could not
	// be told (a namespace this reader was not given, or could not enter).
	NS nsinfo.ID `json:"ns"`
	// Index is the peer's ifindex in NS; Name and Master (its bridge) are
	// known when NS was read.
	Index  int    `json:"index"`
	Name   string `json:"name,omitempty"`
	Master string `json:"master,omitempty"`
}

// Resolved reports whether the peer's namespace is known.
func (p Peer) Resolved() bool { return p.NS.Known() }

// Link is one network interface of a namespace.
type Link struct {
	// Index is the ifindex, unique only within its namespace.
	Index int    `json:"index"`
	Name  string `json:"name"`
	// Type is the link kind: veth, bridge, loopback, vlan, macvlan,
	// vxlan, tun, ... ("device" for a plain ethernet device).
	Type string `json:"type"`
	// State is the RFC 2863 operational state (up, down, lower-layer-down,
	// unknown: loopback and some virtual devices never report one).
	State string `json:"state"`
	// Up is the administrative IFF_UP flag, which `ip link set up` sets.
	Up  bool   `json:"admin_up"`
	MTU int    `json:"mtu"`
	MAC string `json:"mac,omitempty"`
	// MasterIndex and Master name the bridge (or bond) the link is
	// enslaved to, in the same namespace; 0 and "" when none.
	MasterIndex int    `json:"master_index,omitempty"`
	Master      string `json:"master,omitempty"`
	// Peer is a veth's other end; nil for other kinds.
	Peer *Peer `json:"peer,omitempty"`
	// Addrs are its IPv4 and IPv6 addresses with prefix length
	// ("172.17.0.2/16").
	Addrs []string `json:"addrs"`
	// Counters are nil when the kernel sent none.
	Counters *Counters `json:"counters,omitempty"`

	// peerNSID is IFLA_LINK_NETNSID: the id of the peer's namespace in
	// this namespace's table of ids (-1: the peer is in this namespace).
	peerNSID int
}

// Namespace is one network namespace and its links.
type Namespace struct {
	Target
	Links []Link `json:"links"`
	// Err says why the namespace could not be read ("" when it was).
	Err string `json:"error,omitempty"`
}

// Snapshot is every namespace read at one moment.
type Snapshot struct {
	Time       time.Time   `json:"time"`
	Namespaces []Namespace `json:"namespaces"`
}

// Key identifies one link across snapshots: ifindexes are per namespace.
type Key struct {
	NS    nsinfo.ID
	Index int
}

// Rate is a link's traffic per second between two snapshots.
type Rate struct {
	Rx, Tx float64 // bytes per second
	// OK is false when the link was not in both, or a counter went back
	// (the interface was recreated with the same index).
	OK bool
}

// Rates returns the traffic per second of every link in cur that prev had
// too, by Key.
func Rates(prev, cur *Snapshot) map[Key]Rate {
	out := map[Key]Rate{}
	if prev == nil || cur == nil {
		return out
	}
	dt := cur.Time.Sub(prev.Time).Seconds()
	if dt <= 0 {
		return out
	}
	before := map[Key]*Counters{}
	for _, ns := range prev.Namespaces {
		for _, l := range ns.Links {
			if l.Counters != nil {
				before[Key{ns.ID, l.Index}] = l.Counters
			}
		}
	}
	for _, ns := range cur.Namespaces {
		for _, l := range ns.Links {
			k := Key{ns.ID, l.Index}
			p := before[k]
			c := l.Counters
			if p == nil || c == nil || c.RxBytes < p.RxBytes || c.TxBytes < p.TxBytes {
				continue
			}
			out[k] = Rate{Rx: float64(c.RxBytes-p.RxBytes) / dt, Tx: float64(c.TxBytes-p.TxBytes) / dt, OK: true}
		}
	}
	return out
}

// PeerLabel is where a veth's other end is, as ctop shows it: the owner of
// its namespace (from owners, "?" when unknown) and its name,
// "host:veth1a2b3c"; "?:if12" when the peer's namespace is unknown, ""
// for links that are not veths.
func (l Link) PeerLabel(owners map[nsinfo.ID]string) string {
	p := l.Peer
	if p == nil {
		return ""
	}
	if !p.Resolved() {
		return "?:if" + strconv.Itoa(p.Index)
	}
	o := owners[p.NS]
	if o == "" {
		o = "netns " + p.NS.String()
	}
	name := p.Name
	if name == "" {
		name = "if" + strconv.Itoa(p.Index)
	}
	return o + ":" + name
}

// MasterLabel is the bridge a link is attached to: its own master, else
// its veth peer's marked "(peer)" (a container's eth0 reaches docker0
// through its peer in the host), else "".
func (l Link) MasterLabel() string {
	switch {
	case l.Master != "":
		return l.Master
	case l.Peer != nil && l.Peer.Master != "":
		return l.Peer.Master + " (peer)"
	}
	return ""
}
