package ui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/ctop-dev/ctop/netinfo"
	"github.com/ctop-dev/ctop/nsinfo"
)

// netColumns are the Networks view's columns; ADDR takes what is left.
var netColumns = []column{
	{"NETNS", 10, 3},
	{"OWNER", 14, 9},
	{"IFACE", 14, 10},
	{"STATE", 7, 5},
	{"PEER", 20, 8},
	{"MASTER", 14, 6},
	{"RX/s", 9, 7},
	{"TX/s", 9, 7},
}

// netExplain are the explain panel's texts for the Networks view.
var netExplain = map[string]string{
	"veth": "A veth pair is a virtual cable: two interfaces, and whatever one sends the other receives. Its two ends may sit in " +
		"different network namespaces, which is how a container's eth0 reaches the host: the other end is a vethXXXX in the " +
		"host namespace. PEER is that other end, found through the namespace id the kernel reports for it (IFLA_LINK_NETNSID).",
	"bridge": "A bridge is a virtual switch in one namespace. Interfaces attached to it (its ports; MASTER names the bridge) " +
		"exchange frames as if plugged into one switch, and the bridge's own address is the containers' gateway. docker0 is " +
		"docker's default bridge: each container's veth peer is one of its ports.",
	"rates": "RX/s and TX/s are bytes per second received and sent by the interface, from its counters (IFLA_STATS64) read " +
		"at two refreshes. The two ends of a veth mirror each other: what one sends, the other receives.",
}

// netMsg carries a reading of the network namespaces.
type netMsg struct {
	t   NetTable
	err error
}

// netRow is one interface: indices into the snapshot's namespaces and
// their links.
type netRow struct{ ns, link int }

// networkView lists each network namespace's interfaces with their veth
// peers, bridges and traffic. It reads its own data (NetSource) while it
// is shown, as the data no other view needs.
type networkView struct {
	ctx    *Context
	list   list
	height int
	keys   networkKeys
	filter string

	cur     *netinfo.Snapshot
	owners  map[nsinfo.ID]string
	rates   map[netinfo.Key]netinfo.Rate
	err     error
	loading bool
	rows    []netRow
}

// networkKeys are the Networks view's own keys.
type networkKeys struct {
	navKeys
	Peer key.Binding
}

// ShortHelp lists the keys that do most.
func (k networkKeys) ShortHelp() []key.Binding { return []key.Binding{k.Peer} }

// FullHelp lists them all.
func (k networkKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.column(), {k.Peer}} }

func newNetworkView(ctx *Context) networkView {
	return networkView{ctx: ctx, keys: networkKeys{navKeys: ctx.Keys.nav(),
		Peer: key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "go to veth peer"))}}
}

// Title names the view.
func (v networkView) Title() string { return "Networks" }

// Keys are the view's own keys.
func (v networkView) Keys() help.KeyMap { return v.keys }

// Shows says the view needs neither groups nor processes from the store.
func (v networkView) Shows() (groups, procs bool) { return false, false }

// Refresh does nothing: the view's rows change when its own sample
// arrives.
func (v networkView) Refresh() component { return v }

// Sample reads the namespaces off the UI goroutine, one reading at a time.
func (v networkView) Sample() (component, tea.Cmd) {
	src := v.ctx.Sources.Net
	if src == nil || v.loading {
		return v, nil
	}
	v.loading = true
	return v, func() tea.Msg {
		t, err := src.Networks()
		return netMsg{t: t, err: err}
	}
}

// Filter is the text rows are filtered by.
func (v networkView) Filter() string { return v.filter }

// SetFilter keeps the interfaces whose namespace, owner, name, type,
// addresses, peer or bridge hold f.
func (v networkView) SetFilter(f string) component {
	v.filter = f
	v.rebuild()
	return v
}

// Topics explain the selected interface's kind.
func (v networkView) Topics() []topic {
	l := v.selected()
	if l == nil {
		return nil
	}
	file := "rtnetlink RTM_GETLINK, as `ip -d link show " + l.Name + "` reads it"
	var ts []topic
	switch {
	case l.Type == "veth":
		ts = append(ts, topic{title: "veth pairs", body: netExplain["veth"], file: file,
			change: []string{"ip link add NAME type veth peer name PEER netns NS"}})
		ts = append(ts, topic{title: "Bridges", body: netExplain["bridge"], change: []string{"ip link set " + l.Name + " master BRIDGE"}})
	case l.Type == "bridge":
		ts = append(ts, topic{title: "Bridges", body: netExplain["bridge"], file: file,
			change: []string{"ip link set IFACE master " + l.Name}})
		ts = append(ts, topic{title: "veth pairs", body: netExplain["veth"]})
	}
	ts = append(ts, topic{title: "Traffic rates", body: netExplain["rates"], file: "rtnetlink IFLA_STATS64 (ip -s link show " + l.Name + ")"})
	return append(ts, nsTopics(nsinfo.Net)...)
}

// Update handles navigation, p, the body's size and the view's samples.
func (v networkView) Update(msg tea.Msg) (component, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		v.height = max(msg.Height-1, 1)
		return v, nil
	case netMsg:
		v.loading = false
		v.err = msg.err
		if msg.err == nil && msg.t.Snap != nil {
			v.rates = netinfo.Rates(v.cur, msg.t.Snap)
			v.cur, v.owners = msg.t.Snap, msg.t.Owners
			v.rebuild()
		}
		return v, nil
	case tea.KeyMsg:
		if key.Matches(msg, v.keys.Peer) {
			v.toPeer()
			return v, nil
		}
	}
	v.list.move(v.keys.navKeys, msg, len(v.rows), v.bodyRows(), 1)
	return v, nil
}

// toPeer moves the cursor to the selected veth's other end, when it is
// listed.
func (v *networkView) toPeer() {
	l := v.selected()
	if l == nil || l.Peer == nil || !l.Peer.Resolved() {
		return
	}
	for i, r := range v.rows {
		ns := &v.cur.Namespaces[r.ns]
		if ns.ID == l.Peer.NS && ns.Links[r.link].Index == l.Peer.Index {
			v.list.cursor = i
			v.list.clamp(len(v.rows), v.bodyRows())
			return
		}
	}
}

func (v networkView) selected() *netinfo.Link {
	if v.cur == nil || v.list.cursor < 0 || v.list.cursor >= len(v.rows) {
		return nil
	}
	r := v.rows[v.list.cursor]
	return &v.cur.Namespaces[r.ns].Links[r.link]
}

// rebuild lists the rows the filter keeps, keeping the cursor on the same
// interface when it is still there.
func (v *networkView) rebuild() {
	var keep netinfo.Key
	if l := v.selected(); l != nil {
		keep = netinfo.Key{NS: v.cur.Namespaces[v.rows[v.list.cursor].ns].ID, Index: l.Index}
	}
	v.rows = v.rows[:0]
	if v.cur == nil {
		return
	}
	f := strings.ToLower(v.filter)
	for i, ns := range v.cur.Namespaces {
		for j, l := range ns.Links {
			if f != "" && !strings.Contains(strings.ToLower(v.terms(ns, l)), f) {
				continue
			}
			if (netinfo.Key{NS: ns.ID, Index: l.Index}) == keep {
				v.list.cursor = len(v.rows)
			}
			v.rows = append(v.rows, netRow{i, j})
		}
	}
	v.list.clamp(len(v.rows), v.bodyRows())
}

// terms are what a filter matches against.
func (v networkView) terms(ns netinfo.Namespace, l netinfo.Link) string {
	return strings.Join([]string{ns.ID.String(), v.owners[ns.ID], l.Name, l.Type, l.State,
		strings.Join(l.Addrs, " "), l.PeerLabel(v.owners), l.MasterLabel()}, " ")
}

// failed counts the namespaces that could not be read, with the first
// reason.
func (v networkView) failed() (int, string) {
	n, first := 0, ""
	if v.cur == nil {
		return 0, ""
	}
	for _, ns := range v.cur.Namespaces {
		if ns.Err != "" {
			if n == 0 {
				first = ns.Err
			}
			n++
		}
	}
	return n, first
}

// bodyRows is the number of lines for rows: the height less the header
// and, when namespaces could not be read, the line that says so.
func (v networkView) bodyRows() int {
	h := v.height
	if n, _ := v.failed(); n > 0 {
		h--
	}
	return max(h, 1)
}

// View renders the interface table in w×h cells.
func (v networkView) View(w, h int) string {
	v.height = h - 1
	st := v.ctx.Styles
	switch {
	case v.ctx.Sources.Net == nil:
		return st.Faint.Render("network namespaces are not available in this build")
	case v.err != nil:
		return st.Error.Render(v.err.Error())
	case v.cur == nil:
		return st.Faint.Render("reading network namespaces…")
	}
	kept, addrW := fitColumns(netColumns, w, 14)
	hdr := columnHeader(netColumns, kept, "NETNS", "OWNER", "IFACE", "STATE", "PEER", "MASTER") + "ADDR"
	body := v.list.render(v.ctx, len(v.rows), v.bodyRows(), w, func(i int, sel bool) string {
		r := v.rows[i]
		ns := v.cur.Namespaces[r.ns]
		l := ns.Links[r.link]
		// A namespace's id and owner head its first row only.
		first := i == 0 || v.rows[i-1].ns != r.ns
		rate, rateOK := v.rates[netinfo.Key{NS: ns.ID, Index: l.Index}]
		var b strings.Builder
		for _, ci := range kept {
			c := netColumns[ci]
			cell := ""
			switch c.title {
			case "NETNS":
				if first {
					cell = ns.ID.String()
				}
			case "OWNER":
				if first {
					cell = v.owners[ns.ID]
				}
			case "IFACE":
				cell = l.Name
			case "STATE":
				cell = l.State
				if !sel && l.State == "up" {
					cell = st.OK.Render(fit(cell, c.width))
				}
			case "PEER":
				cell = dashIfEmpty(l.PeerLabel(v.owners))
			case "MASTER":
				cell = dashIfEmpty(l.MasterLabel())
			case "RX/s", "TX/s":
				cell = "-"
				if rateOK {
					r := rate.Rx
					if c.title == "TX/s" {
						r = rate.Tx
					}
					cell = humanBytes(r)
				}
				b.WriteString(fitRight(cell, c.width) + " ")
				continue
			}
			b.WriteString(fit(cell, c.width) + " ")
		}
		b.WriteString(fit(dashIfEmpty(strings.Join(l.Addrs, " ")), addrW))
		return b.String()
	})
	out := st.Header.Render(fit(hdr, w)) + "\n" + body
	if n, why := v.failed(); n > 0 {
		out += "\n" + st.Faint.Render(fit(strconv.Itoa(n)+" namespaces could not be read: "+why, w))
	}
	return out
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
