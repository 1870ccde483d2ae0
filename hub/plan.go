package hub

// ReadPlanner is a file that can be told which bytes its reader reads
// next, so that it fetches them in as few requests as it can and nothing
// past them: a remote file whose reader knows from the format how far a
// header goes (a safetensors header's length prefix, what a GGUF header's
// counts and the lengths read so far imply). Implementations are safe for
// concurrent use.
type ReadPlanner interface {
	// PlanRead says that the bytes [off, end) are read next, in one or
	// several reads. While reads fall inside them, a read the file cannot
	// serve from what it holds fetches from where it starts to end (or to
	// the next bytes it holds) in one request, or in as few as its
	// largest fetch allows, and never more: no first fetch sized by the
	// file's kind, no read-ahead past end. A read outside them is served
	// as if no plan had been made. A later call replaces the plan; end <=
	// off clears it.
	PlanRead(off, end int64)
	// PlanHeader says that a header is read next from offset 0, of which
	// the reader needs the first n bytes to know its length: the file's
	// first fetch reads them, or as many as the headers of files of its
	// kind (extension) read before took when that is more, never waiting
	// for another file. The reader then plans the rest with PlanRead.
	PlanHeader(n int64)
}

// PlanRead tells f that its reader reads the bytes [off, end) next (see
// [ReadPlanner]) and reports whether f takes plans: false for a file that
// is read where it is (a local file, one in memory), for which a plan
// would change nothing.
func PlanRead(f File, off, end int64) bool {
	p, ok := f.(ReadPlanner)
	if ok {
		p.PlanRead(off, end)
	}
	return ok
}

// PlanHeader tells f that a header of which its reader needs the first n
// bytes is read next (see [ReadPlanner]) and reports whether f takes
// plans.
func PlanHeader(f File, n int64) bool {
	p, ok := f.(ReadPlanner)
	if ok {
		p.PlanHeader(n)
	}
	return ok
}

// ReadExact reads len(p) bytes of f at off as f.ReadAt does, saying that
// these bytes are all its reader wants from there: a remote file fetches
// what it does not hold of them in one request (or as few as its largest
// fetch allows) and not a byte more — no read-ahead however the reads
// before ran, whatever plan another reader of f made. A reader of
// scattered pieces (the sampled rows of a tensor, two of which may lie
// side by side) uses it where ReadAt would fetch ahead what it never
// reads. A file that fetches nothing (a local file, one in memory) is read
// with ReadAt. It is safe for concurrent use when f is.
func ReadExact(f File, p []byte, off int64) (int, error) {
	if e, ok := f.(exactReader); ok {
		return e.readExact(p, off)
	}
	return f.ReadAt(p, off)
}

// exactReader is a file that reads with no read-ahead on request (see
// [ReadExact]).
type exactReader interface {
	readExact(p []byte, off int64) (int, error)
}

var (
	_ exactReader = (*rangeFile)(nil)
	_ exactReader = (*cachedFile)(nil)
	_ exactReader = (*remoteMember)(nil)

	_ ReadPlanner = (*rangeFile)(nil)
	_ ReadPlanner = (*cachedFile)(nil)
)

// PlanRead records the plan; readSome follows it.
func (f *rangeFile) PlanRead(off, end int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if end <= off {
		off, end = 0, 0
	}
	f.planOff, f.planEnd, f.planHeader = off, min(end, f.size), false
}

// PlanHeader records the plan of a header's first n bytes.
func (f *rangeFile) PlanHeader(n int64) {
	f.PlanRead(0, n)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.planHeader = f.planEnd > 0
}

// PlanHeader plans nothing when the cached header is there: it holds
// what the reader reads.
func (f *cachedFile) PlanHeader(n int64) {
	if len(f.cached) > 0 {
		return
	}
	f.openOnce.Do(func() { f.inner, f.openErr = f.open() })
	if f.openErr == nil {
		PlanHeader(f.inner, n)
	}
}

// PlanRead passes the part of the plan the cached header does not hold to
// the remote file, opening it (which makes no request): a read there
// follows. A file that is not a ReadPlanner (a member of a tar layer) takes
// no plan.
func (f *cachedFile) PlanRead(off, end int64) {
	if end > off {
		off = max(off, int64(len(f.cached))) // cached is set once, by wrap
		if end <= off {
			return
		}
	}
	f.openOnce.Do(func() { f.inner, f.openErr = f.open() })
	if f.openErr == nil {
		PlanRead(f.inner, off, end)
	}
}
