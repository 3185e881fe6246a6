package nsinfo

// Reader reads all processes again and again, as a view that refreshes
// every second does, and re-reads the namespace links only of processes it
// has not seen: a process seen before with the same pid, start time and
// command name gets its previous namespaces back. That saves eight stat(2)
// calls per known process.
//
// NOTE: a process can move itself into other namespaces with setns(2) or
// unshare(2) without changing pid or start time. Runtimes usually exec a
// new program right after, which changes the command name and so misses
// the cache; to bound the staleness otherwise, an entry is read afresh
// after maxAge refreshes.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	fs    FS
	gen   uint64
	cache map[int]cacheEntry
}

// maxAge is how many refreshes a cached namespace set is reused for.
const maxAge = 16

type cacheEntry struct {
	startTime uint64
	comm      string
	ns        NSSet
	gen       uint64 // when ns was read
}

// NewReader returns a Reader of fs with an empty cache.
func NewReader(fs FS) *Reader {
	return &Reader{fs: fs, cache: map[int]cacheEntry{}}
}

// Processes reads every process like FS.Processes, reusing the namespaces
// of processes read by an earlier call.
func (r *Reader) Processes() ([]Process, error) {
	r.gen++
	procs, err := r.fs.scan(DefaultFields, r)
	if err != nil {
		return nil, err
	}
	next := make(map[int]cacheEntry, len(procs))
	for i := range procs {
		p := &procs[i]
		e, ok := r.cache[p.PID]
		if !ok || e.startTime != p.StartTime || e.comm != p.Comm || r.gen-e.gen >= maxAge {
			e = cacheEntry{startTime: p.StartTime, comm: p.Comm, ns: p.NS, gen: r.gen}
		}
		next[p.PID] = e
	}
	r.cache = next
	return procs, nil
}

// lookup is called by the scan's workers, which only read the map.
func (r *Reader) lookup(pid int, startTime uint64, comm string) (NSSet, bool) {
	e, ok := r.cache[pid]
	if !ok || e.startTime != startTime || e.comm != comm || r.gen-e.gen >= maxAge {
		return NSSet{}, false
	}
	return e.ns, true
}
