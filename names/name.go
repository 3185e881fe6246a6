package names

import (
	"encoding/json"
	"path"
	"strings"
)

// Kind is what a cgroup holds.
type Kind string

// The kinds of groups Parse and the Resolver recognise.
const (
	KindContainer Kind = "container" // one container of an engine
	KindPod       Kind = "pod"       // a Kubernetes pod's group
	KindUnit      Kind = "unit"      // a systemd service
	KindSlice     Kind = "slice"     // a systemd slice
	KindScope     Kind = "scope"     // a systemd scope
	KindSession   Kind = "session"   // a login session (session-N.scope)
	KindUser      Kind = "user"      // a user's slice or manager (user-UID.slice, user@UID.service)
	KindMachine   Kind = "machine"   // a VM or container registered with systemd-machined
	KindSandbox   Kind = "sandbox"   // a sandbox ctop started
	KindLXC       Kind = "lxc"       // an LXC container
)

// Runtime is who made the group.
type Runtime string

// The managers Parse recognises.
const (
	RuntimeDocker     Runtime = "docker"
	RuntimePodman     Runtime = "podman"
	RuntimeContainerd Runtime = "containerd"
	RuntimeCRIO       Runtime = "cri-o"
	RuntimeSystemd    Runtime = "systemd"
	RuntimeCtop       Runtime = "ctop"
	RuntimeLXC        Runtime = "lxc"
)

// Name is what runs in one cgroup. The zero Name means nothing known.
type Name struct {
	Kind    Kind    `json:"kind"`
	Runtime Runtime `json:"runtime,omitempty"`
	// ID is a container's full id; ShortID its first 12 characters, as
	// docker ps shows it.
	ID      string `json:"id,omitempty"`
	ShortID string `json:"short_id,omitempty"`
	// Name is the container's, machine's or sandbox's own name.
	Name  string `json:"name,omitempty"`
	Image string `json:"image,omitempty"`
	// Project and Service come from docker compose's labels
	// (com.docker.compose.project, com.docker.compose.service).
	Project string `json:"compose_project,omitempty"`
	Service string `json:"compose_service,omitempty"`
	// Pod, PodNamespace and PodUID name a Kubernetes pod; Container is the
	// container's name inside it.
	Pod          string `json:"pod,omitempty"`
	PodNamespace string `json:"pod_namespace,omitempty"`
	PodUID       string `json:"pod_uid,omitempty"`
	Container    string `json:"container,omitempty"`
	// QoS is the pod's Kubernetes QoS class: guaranteed, burstable or
	// besteffort.
	QoS string `json:"qos,omitempty"`
	// Unit is the systemd unit name the group is, when it is one.
	Unit string `json:"unit,omitempty"`
}

// MarshalJSON writes every field, null where it is not known, as every
// listing of ctop does (docs/json.md).
func (n Name) MarshalJSON() ([]byte, error) {
	str := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		Kind         *string `json:"kind"`
		Runtime      *string `json:"runtime"`
		ID           *string `json:"id"`
		ShortID      *string `json:"short_id"`
		Name         *string `json:"name"`
		Image        *string `json:"image"`
		Project      *string `json:"compose_project"`
		Service      *string `json:"compose_service"`
		Pod          *string `json:"pod"`
		PodNamespace *string `json:"pod_namespace"`
		PodUID       *string `json:"pod_uid"`
		Container    *string `json:"container"`
		QoS          *string `json:"qos"`
		Unit         *string `json:"unit"`
	}{str(string(n.Kind)), str(string(n.Runtime)), str(n.ID), str(n.ShortID), str(n.Name), str(n.Image),
		str(n.Project), str(n.Service), str(n.Pod), str(n.PodNamespace), str(n.PodUID), str(n.Container),
		str(n.QoS), str(n.Unit)})
}

// Known reports whether anything is known about the group.
func (n Name) Known() bool { return n.Kind != "" }

// Owns reports whether the name is something a user thinks of as running
// (a container, pod, sandbox, machine), rather than only a systemd
// grouping; a process's owner is its innermost such group.
func (n Name) Owns() bool {
	switch n.Kind {
	case KindContainer, KindPod, KindSandbox, KindLXC, KindMachine:
		return true
	}
	return false
}

// String is the short label ctop shows: a container's name (else runtime
// and short id), a pod as namespace/pod, a pod's container as
// namespace/pod/container, a unit's name.
func (n Name) String() string {
	switch n.Kind {
	case "":
		return ""
	case KindContainer:
		if n.Pod != "" {
			s := n.PodNamespace + "/" + n.Pod
			if n.Container != "" {
				return s + "/" + n.Container
			}
			return s + "/" + n.ShortID
		}
		if n.Name != "" {
			return n.Name
		}
		return string(n.Runtime) + ":" + n.ShortID
	case KindPod:
		if n.Pod != "" {
			return n.PodNamespace + "/" + n.Pod
		}
		return "pod:" + n.PodUID
	case KindSandbox, KindLXC, KindMachine:
		return n.Name
	}
	return n.Unit
}

// Describe says in words what the name is, for the text of inspect, ps
// and ns: "docker container shop-web-1 (36219a26d503, image nginx:1.27)",
// "pod shop/web (qos burstable)", "systemd unit cron.service", "ctop
// sandbox busy (systemd ctop-busy.scope)" or "ctop sandbox busy (cgroupfs)"
// (who made its group); "" when nothing is known.
func (n Name) Describe() string {
	switch n.Kind {
	case "":
		return ""
	case KindContainer:
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
	case KindPod:
		return "pod " + n.String() + " (qos " + n.QoS + ")"
	case KindSandbox:
		if n.Unit != "" {
			return "ctop sandbox " + n.Name + " (systemd " + n.Unit + ")"
		}
		return "ctop sandbox " + n.Name + " (cgroupfs)"
	case KindLXC:
		return "lxc container " + n.Name
	case KindMachine:
		return "machine " + n.Name + " (" + n.Unit + ")"
	case KindSession:
		return "login session " + n.Name + " (" + n.Unit + ")"
	case KindUser:
		return "user " + n.Name + "'s " + n.Unit
	}
	return "systemd " + string(n.Kind) + " " + n.Unit
}

// Label is what a tree of groups shows in place of the group's directory
// name dir, "" to keep dir: a container's name with its runtime and short
// id in place of the 64-digit id ("shop-web-1 (docker 36219a26d503)", or
// "docker 36219a26d503" unnamed), "pod NAMESPACE/POD" in place of the
// pod's UID, a machine's or LXC container's unescaped name. Units, slices
// and sandboxes read well as they are.
func (n Name) Label(dir string) string {
	switch n.Kind {
	case KindContainer:
		l := n.Name
		if n.Pod != "" {
			l = n.Container
		}
		rt := string(n.Runtime)
		if rt == "" {
			rt = "container"
		}
		if l == "" {
			return rt + " " + n.ShortID
		}
		return l + " (" + rt + " " + n.ShortID + ")"
	case KindPod:
		return "pod " + n.String()
	case KindMachine, KindLXC:
		if n.Name != dir {
			return n.Name + " (" + string(n.Kind) + ")"
		}
	}
	return ""
}

// Terms are the words a filter or a target may match: the label, the
// names, the ids, the image, the pod's names and the unit.
func (n Name) Terms() []string {
	var out []string
	for _, s := range []string{n.String(), n.Name, n.ShortID, n.ID, n.Image, n.Pod, n.Container, n.Unit, n.Project, n.Service} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Owner returns the name of the group that owns the one at p, among the
// names in m: the innermost ancestor-or-self that Owns, else the innermost
// one that is known at all. It returns that group's path too ("" when none).
func Owner(p string, m map[string]Name) (Name, string) {
	var first Name
	firstAt := ""
	for q := cleanPath(p); ; q = parent(q) {
		if n, ok := m[q]; ok && n.Known() {
			if n.Owns() {
				return n, q
			}
			if firstAt == "" {
				first, firstAt = n, q
			}
		}
		if q == "/" {
			return first, firstAt
		}
	}
}

// Ancestors returns every path in ps and every ancestor of each, once, so
// a caller can resolve them all before asking Owner.
func Ancestors(ps []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps {
		for q := cleanPath(p); !seen[q]; q = parent(q) {
			seen[q] = true
			out = append(out, q)
		}
	}
	return out
}

// cleanPath is path.Clean("/" + p), without its two allocations where p
// is clean already, as the kernel writes cgroup paths: the UI asks for
// the ancestors of every process's group on every sample.
func cleanPath(p string) string {
	if isClean(p) {
		return p
	}
	return path.Clean("/" + p)
}

// isClean reports whether p is absolute and has no empty, "." or ".."
// element and no trailing slash, so that path.Clean leaves it as it is.
func isClean(p string) bool {
	if p == "/" {
		return true
	}
	if len(p) < 2 || p[0] != '/' || p[len(p)-1] == '/' {
		return false
	}
	for rest := p[1:]; ; {
		elem, after, more := strings.Cut(rest, "/")
		if elem == "" || elem == "." || elem == ".." {
			return false
		}
		if !more {
			return true
		}
		rest = after
	}
}

// parent is path.Dir of a clean path, without allocating.
func parent(q string) string {
	if i := strings.LastIndexByte(q, '/'); i > 0 {
		return q[:i]
	}
	return "/"
}

// unescape undoes systemd's unit-name escaping (systemd.unit(5)): "\xNN"
// is the byte NN; in machine and slice names "-" is written "\x2d".
func unescape(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) && isHex(s[i+3]) {
			b.WriteByte(unhex(s[i+2])<<4 | unhex(s[i+3]))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
