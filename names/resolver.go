package names

import (
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ctop-dev/ctop/sandbox"
)

// Options configure a Resolver. The zero value reads the live host.
type Options struct {
	// Root prefixes the host paths read: the engines' sockets and the
	// kubelet's /var/log/pods and /var/log/containers ("" is "/"); tests
	// point it at testdata.
	Root string
	// Engines are the container engines asked for names; nil means
	// DefaultEngines.
	Engines []Engine
	// SandboxDir is ctop's sandbox state directory ("": no sandboxes but
	// those under the default cgroup parent, named by path).
	SandboxDir string
	// Timeout bounds one request to an engine (default 500ms).
	Timeout time.Duration
}

// Engine is a container engine that serves docker's API on a unix socket.
type Engine struct {
	Runtime Runtime
	// Socket is the socket's path below Options.Root.
	Socket string
}

// DefaultEngines are docker's socket and podman's system socket (podman
// serves docker's API on it). A rootless podman container's socket,
// /run/user/UID/podman/podman.sock, is found from its group's path.
func DefaultEngines() []Engine {
	return []Engine{
		{Runtime: RuntimeDocker, Socket: "/var/run/docker.sock"},
		{Runtime: RuntimePodman, Socket: "/run/podman/podman.sock"},
	}
}

// engineRetry is how long an engine that failed (not there, refused, too
// slow) is left alone before it is asked again.
const engineRetry = 30 * time.Second

// podsRescan bounds how often the kubelet's log directories are listed
// again when an unknown pod appears.
const podsRescan = 5 * time.Second

// Resolver says what runs in each cgroup: Parse, plus what engines, the
// kubelet's files and the sandbox state directory add. It keeps what it
// learnt about each container id, so an engine is asked once per id. It is
// safe for concurrent use; calls are serialised.
type Resolver struct {
	opts Options

	mu sync.Mutex
	// containers holds what engines said, by id; a zero engineInfo with
	// ok false records an id the engine does not know (asked once).
	containers map[string]engineInfo
	clients    map[string]*engineClient // by socket path
	// down holds, by socket path, when a failed engine may be asked again.
	down map[string]time.Time
	pods podIndex
	// parsed caches what each path gives before the sandboxes, pods and
	// engines add to it: a refresh names the same few hundred paths every
	// second.
	parsed map[string]parsedPath
	// known is how many names the last call returned, to size the next.
	known     int
	sandboxes sandboxIndex
	now       func() time.Time
}

// parsedPath is Parse of a path, and the path cleaned as the sandboxes'
// records name groups.
type parsedPath struct {
	name  Name
	clean string
}

// sandboxIndex is the sandboxes' groups by cleaned path, as listed when
// the state directory had the modification time mtime.
type sandboxIndex struct {
	byPath map[string]string
	mtime  time.Time
	// settled says the listing may be reused while the directory's
	// modification time stays mtime; see sandboxSettle.
	settled bool
}

// sandboxSettle is how old the state directory's modification time must
// be for a listing to be reused until it changes: a record is created and
// then written, and the time is of the kernel's coarse clock, so a listing
// taken just after a change may have missed a record made in the same
// instant or caught one half written.
const sandboxSettle = time.Second

// New returns a Resolver configured by o.
func New(o Options) *Resolver {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Engines == nil {
		o.Engines = DefaultEngines()
	}
	if o.Timeout <= 0 {
		o.Timeout = 500 * time.Millisecond
	}
	return &Resolver{
		opts:       o,
		containers: map[string]engineInfo{},
		clients:    map[string]*engineClient{},
		down:       map[string]time.Time{},
		now:        time.Now,
	}
}

// Names returns what runs in each group of paths that anything is known
// about, keyed by the path as given. Engines are asked only about
// container ids not seen before; when an engine cannot answer, a
// container keeps the name its path gives (runtime and short id).
func (r *Resolver) Names(paths []string) map[string]Name {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Name, r.known)
	sandboxes := r.listSandboxes()
	if len(r.parsed) > 2*len(paths)+1024 {
		r.parsed = nil // forget the paths of groups gone
	}
	if r.parsed == nil {
		r.parsed = make(map[string]parsedPath, len(paths))
	}
	for _, p := range paths {
		pp, ok := r.parsed[p]
		if !ok {
			pp = parsedPath{name: Parse(p), clean: filepath.Clean("/" + p)}
			r.parsed[p] = pp
		}
		if name, ok := sandboxes[pp.clean]; ok {
			// A sandbox under systemd is a scope: its unit is kept.
			out[p] = Name{Kind: KindSandbox, Runtime: RuntimeCtop, Name: name, Unit: pp.name.Unit}
			continue
		}
		n := pp.name
		if !n.Known() {
			continue
		}
		if n.PodUID != "" {
			r.addPod(&n)
		}
		if n.Kind == KindContainer && n.Pod == "" && (n.Runtime == RuntimeDocker || n.Runtime == RuntimePodman) {
			r.addEngine(&n, p)
		}
		out[p] = n
	}
	r.known = len(out)
	return out
}

// listSandboxes returns the sandboxes' groups, listing the state directory
// again only when its modification time changed (a record made or
// removed) or was too recent to rely on.
func (r *Resolver) listSandboxes() map[string]string {
	dir := r.opts.SandboxDir
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err == nil && r.sandboxes.settled && fi.ModTime().Equal(r.sandboxes.mtime) {
		return r.sandboxes.byPath
	}
	ix := sandboxIndex{byPath: map[string]string{}}
	if err == nil {
		ix.mtime = fi.ModTime()
		ix.settled = r.now().Sub(ix.mtime) >= sandboxSettle
	}
	sts, _ := sandbox.List(dir)
	for _, st := range sts {
		if st.Cgroup != "" {
			ix.byPath[filepath.Clean(st.Cgroup)] = st.Name
		}
	}
	r.sandboxes = ix
	return ix.byPath
}

// addEngine fills n from its engine: what was learnt before, else one
// request to each engine of n's runtime that is up.
func (r *Resolver) addEngine(n *Name, p string) {
	info, seen := r.containers[n.ID]
	if !seen {
		var asked bool
		info, asked = r.ask(n.Runtime, n.ID, p)
		if !asked {
			return
		}
		r.containers[n.ID] = info
	}
	if info.ok {
		n.Name, n.Image, n.Project, n.Service = info.name, info.image, info.project, info.service
	}
}

// ask requests id from the engines of runtime rt, in turn, until one
// knows it. asked is false when no engine could answer (none there, or
// each failed): then nothing is recorded and the id is asked again once
// the engine is back.
func (r *Resolver) ask(rt Runtime, id, p string) (info engineInfo, asked bool) {
	for _, sock := range r.sockets(rt, p) {
		if until, ok := r.down[sock]; ok && r.now().Before(until) {
			continue
		}
		c, ok := r.clients[sock]
		if !ok {
			c = newEngineClient(sock, r.opts.Timeout)
			r.clients[sock] = c
		}
		got, err := c.inspect(id)
		if err != nil {
			r.down[sock] = r.now().Add(engineRetry)
			continue
		}
		delete(r.down, sock)
		asked = true
		if got.ok {
			return got, true
		}
	}
	return engineInfo{}, asked
}

// sockets lists the sockets of runtime rt's engines for the group at p:
// a rootless podman's own socket first, found from the user's slice.
func (r *Resolver) sockets(rt Runtime, p string) []string {
	var out []string
	if rt == RuntimePodman {
		if uid := userOf(p); uid != "" {
			out = append(out, filepath.Join(r.opts.Root, "run/user", uid, "podman/podman.sock"))
		}
	}
	for _, e := range r.opts.Engines {
		if e.Runtime == rt {
			out = append(out, filepath.Join(r.opts.Root, e.Socket))
		}
	}
	return out
}

// userOf returns the UID of the user-UID.slice a path lies in, else "".
func userOf(p string) string {
	for q := filepath.Clean("/" + p); q != "/"; q = filepath.Dir(q) {
		if n := parseSystemd(filepath.Base(q)); n.Kind == KindUser && n.Unit == "user-"+n.Name+".slice" {
			return n.Name
		}
	}
	return ""
}
