package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctop-dev/ctop/names"
	"github.com/ctop-dev/ctop/netinfo"
	"github.com/ctop-dev/ctop/nsinfo"
)

type netOpts struct {
	json     bool
	interval time.Duration
	stateDir string // where sandboxes are named from ("": the default)
}

func newNetCmd() *cobra.Command {
	var o netOpts
	cmd := &cobra.Command{
		Use:   "net",
		Short: "Show every network namespace's interfaces, veth peers and bridges",
		Long: `Show the interfaces of every network namespace on the host, one line each:
its state, addresses and traffic, and for a veth where its other end is.

A network namespace has its own interfaces, addresses, routes and ports. A
container usually gets one with a single eth0 that is one end of a veth
pair: a virtual cable whose other end sits in the host namespace, attached
to a bridge (docker0, a virtual switch) that joins the containers and routes
them out. This command draws that picture:
  NETNS   the namespace's inode number (ctop ns --type net lists them)
  OWNER   host, or the container, pod, sandbox or unit its lowest pid runs
          in, or netns:NAME for a namespace kept by ip netns or docker
  STATE   the operational state (unknown is normal for lo)
  PEER    a veth's other end: OWNER:IFACE
  MASTER  the bridge the interface is attached to; "(peer)" marks the
          bridge its veth peer is attached to
  RX/s TX/s  bytes per second received and sent, from two samples
          --interval apart

Other namespaces are entered over netlink, which needs root; without it
only ctop's own namespace is shown.`,
		Example: `  ctop net                         # every namespace
  ctop net --json | jq '.namespaces[] | select(.owner == "host") | .links[].name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.interval < 0 {
				return fmt.Errorf("invalid --interval %s: want 0 (no rates) or more", o.interval)
			}
			return runNet(cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON: every namespace with its owner, links, peers, addresses, counters and rates")
	cmd.Flags().DurationVarP(&o.interval, "interval", "i", 500*time.Millisecond, "time between the two samples rates are derived from (0: no rates)")
	cmd.Flags().StringVar(&o.stateDir, "state-dir", "", "where the state of running sandboxes is kept, to name them")
	_ = cmd.Flags().MarkHidden("state-dir")
	return cmd
}

// netSampler reads the host's network namespaces and names their owners,
// for ctop net and the terminal UI's Networks view.
type netSampler struct {
	fs    nsinfo.FS
	net   netinfo.Reader
	names *names.Resolver
}

func newNetSampler(stateDir string) (netSampler, error) {
	fs, err := nsinfo.Open("/")
	if err != nil {
		return netSampler{}, err
	}
	return netSampler{fs: fs, net: netinfo.New("/"), names: newResolver(stateDir)}, nil
}

// targets lists the namespaces to read, with the host's.
func (s netSampler) targets() ([]netinfo.Target, nsinfo.ID, error) {
	procs, err := s.fs.ProcessesWith(nsinfo.FieldNS | nsinfo.FieldCgroups | nsinfo.FieldStat)
	if err != nil {
		return nil, nsinfo.ID{}, err
	}
	var host nsinfo.ID
	if ref, err := nsinfo.Host(procs); err == nil {
		host = ref.NS.Get(nsinfo.Net)
	}
	return s.net.Targets(procs), host, nil
}

// owners names what each namespace belongs to.
func (s netSampler) owners(snap *netinfo.Snapshot, host nsinfo.ID) map[nsinfo.ID]string {
	var ps []string
	for _, ns := range snap.Namespaces {
		if ns.Cgroup != "" {
			ps = append(ps, ns.Cgroup)
		}
	}
	return netOwners(snap.Namespaces, s.names.Owners(ps), host)
}

// netOwners labels each namespace: host; else the container, pod or
// sandbox its lowest pid runs in; else the name it is bind-mounted under
// (netns:NAME); else any name of that pid's group (a unit); else the pid.
func netOwners(nss []netinfo.Namespace, byPath map[string]names.Name, host nsinfo.ID) map[nsinfo.ID]string {
	out := make(map[nsinfo.ID]string, len(nss))
	for _, ns := range nss {
		n := byPath[ns.Cgroup]
		var l string
		switch {
		case ns.ID == host:
			l = "host"
		case n.Owns():
			l = n.String()
		case ns.Name != "":
			l = "netns:" + ns.Name
		case n.Known():
			l = n.String()
		case ns.PID != 0:
			l = "pid " + strconv.Itoa(ns.PID)
		default:
			l = "netns " + ns.ID.String()
		}
		out[ns.ID] = l
	}
	return out
}

// sortNet puts the host's namespace first, then the others by owner, and
// each namespace's links by ifindex.
func sortNet(nss []netinfo.Namespace, own map[nsinfo.ID]string) {
	slices.SortStableFunc(nss, func(a, b netinfo.Namespace) int {
		ha, hb := own[a.ID] == "host", own[b.ID] == "host"
		if ha != hb {
			if ha {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(own[a.ID], own[b.ID]), cmp.Compare(a.ID.Ino, b.ID.Ino))
	})
	for _, ns := range nss {
		slices.SortFunc(ns.Links, func(a, b netinfo.Link) int { return a.Index - b.Index })
	}
}

// netJSON is the --json document.
type netJSON struct {
	Time       time.Time   `json:"time"`
	Interval   float64     `json:"interval_seconds"`
	Namespaces []netNSJSON `json:"namespaces"`
}

type netNSJSON struct {
	netinfo.Namespace
	Owner string        `json:"owner"`
	Links []netLinkJSON `json:"links"`
}

type netLinkJSON struct {
	netinfo.Link
	// PeerOwner is the owner of the peer's namespace (veths only).
	PeerOwner string `json:"peer_owner,omitempty"`
	// Rates are bytes per second; null without two samples.
	Rates *netRateJSON `json:"rates"`
}

type netRateJSON struct {
	Rx float64 `json:"rx_bytes_per_second"`
	Tx float64 `json:"tx_bytes_per_second"`
}

func runNet(stdout, stderr io.Writer, o netOpts) error {
	s, err := newNetSampler(o.stateDir)
	if err != nil {
		return err
	}
	ts, host, err := s.targets()
	if err != nil {
		return err
	}
	var prev *netinfo.Snapshot
	if o.interval > 0 {
		prev = s.net.Read(ts)
		time.Sleep(o.interval)
	}
	snap := s.net.Read(ts)
	rates := netinfo.Rates(prev, snap)
	own := s.owners(snap, host)
	sortNet(snap.Namespaces, own)

	w := bufio.NewWriterSize(stdout, 64<<10)
	if o.json {
		doc := netJSON{Time: snap.Time, Interval: o.interval.Seconds(), Namespaces: make([]netNSJSON, len(snap.Namespaces))}
		for i, ns := range snap.Namespaces {
			j := netNSJSON{Namespace: ns, Owner: own[ns.ID], Links: make([]netLinkJSON, len(ns.Links))}
			for k, l := range ns.Links {
				j.Links[k].Link = l
				if l.Peer != nil && l.Peer.Resolved() {
					j.Links[k].PeerOwner = own[l.Peer.NS]
				}
				if r, ok := rates[netinfo.Key{NS: ns.ID, Index: l.Index}]; ok {
					j.Links[k].Rates = &netRateJSON{Rx: r.Rx, Tx: r.Tx}
				}
			}
			doc.Namespaces[i] = j
		}
		if err := json.NewEncoder(w).Encode(doc); err != nil {
			return err
		}
	} else {
		writeNetTable(w, snap, own, rates, o.interval > 0)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	failed, first := 0, ""
	for _, ns := range snap.Namespaces {
		if ns.Err != "" {
			if failed == 0 {
				first = ns.Err
			}
			failed++
		}
	}
	if failed > 0 {
		hint := "run as root to enter them"
		if os.Geteuid() == 0 {
			hint = first
		}
		fmt.Fprintf(stderr, "ctop: %d of %d network namespaces could not be read (%s)\n", failed, len(snap.Namespaces), hint)
	}
	return nil
}

// writeNetTable prints one line per interface, grouped by namespace.
func writeNetTable(w io.Writer, snap *netinfo.Snapshot, own map[nsinfo.ID]string, rates map[netinfo.Key]netinfo.Rate, withRates bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NETNS\tOWNER\tIFACE\tSTATE\tADDR\tPEER\tMASTER\tRX/s\tTX/s")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, ns := range snap.Namespaces {
		if ns.Err != "" {
			continue
		}
		for _, l := range ns.Links {
			rx, tx := "-", "-"
			if r, ok := rates[netinfo.Key{NS: ns.ID, Index: l.Index}]; ok {
				rx, tx = rateIEC(r.Rx), rateIEC(r.Tx)
			} else if !withRates {
				rx, tx = "", ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ns.ID, own[ns.ID], l.Name, l.State,
				dash(strings.Join(l.Addrs, ",")), dash(l.PeerLabel(own)), dash(l.MasterLabel()), rx, tx)
		}
	}
	tw.Flush()
}
