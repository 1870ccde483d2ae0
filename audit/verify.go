package audit

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/checked"
	"github.com/weightaudit/weightaudit/internal/textfmt"
)

// The ids of the findings of [Verify], in the style of the audit's check ids.
const (
	CheckSHA256       = "VERIFY-SHA256"        // a file's sha256 differs from the expected digest
	CheckGitBlob      = "VERIFY-GIT-BLOB"      // a file's Git blob id differs from the one published (a Hub file not in LFS)
	CheckTensorSHA256 = "VERIFY-TENSOR-SHA256" // a tensor's sha256 differs from the manifest's
	CheckManifest     = "VERIFY-MANIFEST"      // a file or tensor of the manifest is missing, or one is not in it
	CheckTruncated    = "VERIFY-TRUNCATED"     // a tensor's bytes run past the end of its file
	CheckNaN          = "VERIFY-NAN"           // NaN values (or NaN scales of quantized blocks)
	CheckInf          = "VERIFY-INF"           // infinite values (or scales)
	CheckAllZero      = "VERIFY-ALL-ZERO"      // every byte of a tensor is zero
	CheckZeroRun      = "VERIFY-ZERO-RUN"      // a zero-filled run of at least the threshold inside a tensor
	CheckUnread       = "VERIFY-UNREAD"        // a file's data could not be read (range reads refused inside a compressed layer, or its layer damaged before it): no digest, no data checks
	CheckArchive      = "VERIFY-ARCHIVE"       // a layer read from its start does not decompress or is not a valid tar archive (see VerifyReport.Archives)
)

// DefaultBufferSize is the size of the reads of [Verify]: 4 MiB.
const DefaultBufferSize = 4 << 20

// maxBuffers bounds the read buffers of one [Verify] call whatever the
// number of jobs, so its memory is bounded by maxBuffers·BufferSize.
const maxBuffers = 32

// hashSlice is the piece of a buffer hashed and checked in turn, so that the
// checks find the bytes the hash just read in the cache.
const hashSlice = 256 << 10

// VerifyOptions configures [Verify]. The zero value verifies with the
// defaults.
type VerifyOptions struct {
	// Jobs is the number of files read at once. The default (0) is the
	// number of CPUs; a negative value is an error.
	Jobs int

	// Expected maps file names (as in Checkpoint.Files) to the sha256
	// each file must have, in hex, such as a hub's LFS digests. It takes
	// precedence over Manifest for the files it names. The default is none.
	Expected map[string]string

	// Manifest, when set, is a manifest recorded earlier (see
	// [NewManifest]): every file's sha256 and size and, when it holds
	// them, every tensor's sha256 are compared with it, and files or
	// tensors missing from either side are findings. The default is none.
	Manifest *Manifest

	// TensorDigests asks for the sha256 of every tensor's bytes, as a
	// manifest records them. They are also computed whenever Manifest holds
	// tensor digests. They double the hashing work. The default is off.
	TensorDigests bool

	// ZeroRun is the shortest zero-filled run inside a tensor that is a
	// finding. The default (0) is [DefaultZeroRun].
	ZeroRun int64

	// BufferSize is the size of each read. The default (0) is
	// [DefaultBufferSize]; values under 64 KiB are an error. At most 32
	// buffers are in use at once, whatever Jobs is.
	BufferSize int

	// Progress, when set, is called after each buffer of a file has been
	// hashed, with the file's name and the bytes just done. It is called
	// from several goroutines at once and must be safe for that.
	Progress func(file string, n int64)

	// ExpectedFrom names where the Expected digests come from, for the
	// report ("OCI layer digest"). The default is "expected digest".
	ExpectedFrom string

	// ExpectedGitBlob maps file names to the Git blob id each must have
	// (the SHA-1 of "blob SIZE\x00" and the content, in hex), such as the
	// Hub's listing gives for files not stored with LFS (config.json, the
	// index). It is checked for the files that have no sha256 expected.
	// The default is none.
	ExpectedGitBlob map[string]string

	// Notes holds a remark on some files, by name, shown with the file in
	// the report (FileCheck.Note), such as why it has no expected digest.
	// The default is none.
	Notes map[string]string

	// Shard, when not the zero value, verifies only the files of that part
	// of the checkpoint (see [AssignShards]; the index and config.json are
	// dealt like the model files); the report says which part and lists
	// every file with its part (VerifyReport.Shard). A Manifest is then
	// compared for the part's files and tensors only. The default is the
	// whole checkpoint.
	Shard ShardSpec

	// Copy, when set, is called once for each file before it is read,
	// with its name and size; the FileCopy it returns receives every byte
	// of the file in order, from one goroutine, then Commit once the file
	// was read to its end, or Abort. A nil FileCopy and a nil error mean
	// that the file needs no copy (the destination has it). The copy never
	// changes the verification: its outcome is reported per file
	// (FileCheck.Copy). Copy is called from several goroutines at once.
	// The default is no copy.
	Copy func(name string, size int64) (FileCopy, error)

	split bool // hash and check each buffer in two goroutines, as with tensor digests (for benchmarks)
}

// FileCopy receives a copy of a file's bytes from [Verify] (see
// VerifyOptions.Copy): Write in order, then Commit or Abort, once, all from
// one goroutine.
type FileCopy interface {
	io.Writer
	// Commit is called after the last Write once the file was read to its
	// end; the copy checks what it received and keeps it, or says why not.
	Commit() error
	// Abort is called instead of Commit when the file was not read to its
	// end (an error, a cancellation) or a Write failed; the copy discards
	// what it has.
	Abort()
}

// The outcomes of a file's copy (FileCheck.Copy).
const (
	CopyStored    = "stored"     // the copy committed the file
	CopyPresent   = "present"    // the destination had the file already: nothing to copy
	CopyNotStored = "not stored" // the copy failed or refused the file; FileCheck.CopyError says why
)

// ZeroRun is a zero-filled stretch of a tensor's bytes.
type ZeroRun struct {
	Offset int64 `json:"offset"` // absolute offset in the file
	Length int64 `json:"length"` // bytes
}

// VerifyReport is what [Verify] found. Its JSON keys are stable.
type VerifyReport struct {
	Source     string            `json:"source"`
	Format     checkpoint.Format `json:"format"`
	Pass       bool              `json:"pass"`            // complete, and no findings
	Incomplete bool              `json:"incomplete"`      // stopped before every byte was read (cancelled)
	Shard      *ShardPlan        `json:"shard,omitempty"` // the part verified, when VerifyOptions.Shard was set
	Files      []FileCheck       `json:"files"`
	Tensors    []TensorCheck     `json:"tensors"`
	Layers     []LayerCheck      `json:"layers"`
	Archives   []ArchiveCheck    `json:"archives,omitempty"` // the layers read from their start, when the source has any (see Verify)
	Findings   []VerifyFinding   `json:"findings"`
	Totals     VerifyTotals      `json:"totals"`
	Seconds    float64           `json:"seconds"`
}

// FileCheck is the result for one file.
type FileCheck struct {
	Name         string `json:"name"`
	Size         int64  `json:"size"`
	Read         int64  `json:"bytes_read"`
	SHA256       string `json:"sha256,omitempty"`          // empty when the file was not read to its end
	Expected     string `json:"expected_sha256,omitempty"` // from VerifyOptions.Expected or the manifest
	ExpectedFrom string `json:"expected_from,omitempty"`   // where Expected comes from: VerifyOptions.ExpectedFrom, or "manifest"
	Status       string `json:"status"`                    // "ok" (also: no digest of its own, and its layer's digest matches), "mismatch" (also: no digest of its own, and its layer's digest differs), "unchecked" (no expected digest), "unread" (see CheckUnread), "incomplete"
	Note         string `json:"note,omitempty"`            // from VerifyOptions.Notes, else for a file read as its layer streamed, which layer
	Copy         string `json:"copy,omitempty"`            // with VerifyOptions.Copy: CopyStored, CopyPresent or CopyNotStored
	CopyError    string `json:"copy_error,omitempty"`      // why the copy was not stored
	// GitBlob and ExpectedGitBlob are the file's Git blob id and the one
	// published, for a file checked against VerifyOptions.ExpectedGitBlob.
	GitBlob         string `json:"git_blob,omitempty"`
	ExpectedGitBlob string `json:"expected_git_blob,omitempty"`
}

// TensorCheck is the result for one tensor.
type TensorCheck struct {
	Name       string    `json:"name"`
	File       string    `json:"file"`
	DType      string    `json:"dtype"`
	Shape      []int64   `json:"shape"`
	Offset     int64     `json:"offset"`
	Bytes      int64     `json:"bytes"`
	Layer      int       `json:"layer"`
	SHA256     string    `json:"sha256,omitempty"`
	Checked    string    `json:"nan_inf_checked"` // what the NaN/Inf counts cover: "values", "scales" or "" (the type has no NaN code, or its blocks are not covered)
	NaN        int64     `json:"nan"`
	Inf        int64     `json:"inf"`
	AllZero    bool      `json:"all_zero"`
	ZeroRuns   []ZeroRun `json:"zero_runs,omitempty"`
	Stats      *Stats    `json:"stats,omitempty"`
	Missing    int64     `json:"missing,omitempty"`    // bytes past the end of the file
	Incomplete bool      `json:"incomplete,omitempty"` // not read to its end (cancelled, or truncated)
}

// LayerCheck sums the tensor results of one layer; Layer -1 holds the
// tensors outside the decoder layers.
type LayerCheck struct {
	Layer    int     `json:"layer"`
	Tensors  int     `json:"tensors"`
	Bytes    int64   `json:"bytes"`
	NaN      int64   `json:"nan"`
	Inf      int64   `json:"inf"`
	AllZero  int     `json:"all_zero"`  // tensors
	ZeroRuns int     `json:"zero_runs"` // runs
	AbsMax   float64 `json:"absmax"`    // largest of the tensors' absmax statistics
	Findings int     `json:"findings"`
}

// VerifyFinding is one defect found by [Verify].
type VerifyFinding struct {
	Check    string `json:"check"` // one of the Check* ids of this file
	File     string `json:"file,omitempty"`
	Tensor   string `json:"tensor,omitempty"`
	Offset   int64  `json:"offset"`           // absolute byte offset in File: the tensor, the first bad value, the run
	Length   int64  `json:"length,omitempty"` // bytes, for runs and truncations
	Count    int64  `json:"count,omitempty"`  // values, for NaN and Inf
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Message  string `json:"message"`
	// Layer and Files, for a finding about a layer read from its start
	// (see VerifyReport.Archives): its digest, and the checkpoint's files
	// inside it.
	Layer string   `json:"layer,omitempty"`
	Files []string `json:"files,omitempty"`
}

// VerifyTotals sums a report.
type VerifyTotals struct {
	Files       int   `json:"files"`
	Tensors     int   `json:"tensors"`
	Bytes       int64 `json:"bytes"`      // file bytes
	BytesRead   int64 `json:"bytes_read"` // file bytes read and hashed
	TensorBytes int64 `json:"tensor_bytes"`
	NaN         int64 `json:"nan"`
	Inf         int64 `json:"inf"`
}

// Verify reads every byte of every file of ck: the model files, and the
// index and config.json when there are. It computes each file's sha256
// and checks each tensor's bytes for NaN and Inf values (or quantized
// blocks' scales), all-zero data and zero-filled runs, and samples
// statistics; see [VerifyOptions] for the digests it compares.
//
// Files are read concurrently (Jobs at once) with large sequential reads,
// each by its own goroutine handing buffers to another that hashes and
// checks them, so reading overlaps with hashing; memory is bounded by the
// buffers, whatever the files' sizes. The report is the same whatever Jobs
// is, except for Seconds.
//
// Files that can only be read by streaming the layer that holds them from
// its start (the files inside a compressed tar layer of an OCI artifact:
// the source has the methods StreamedLayer and StreamLayer of
// *hub.OCISource) are read that way: each such layer is streamed once,
// whatever the number of files in it, by one job (at most 4 layers at
// once, so that the decompressors' windows add a bounded amount to the
// buffers' memory), and its files go through the same checks as any other
// file, in archive order, with the same buffers. The layer's
// sha256, computed over its compressed bytes as they arrive, is compared
// with its digest (VerifyReport.Archives): a mismatch is a [CheckSHA256]
// finding naming the layer, the expected and the actual digest and the
// files inside it, whose status is then "mismatch"; when it matches and
// the layer decompressed cleanly, files without a digest of their own are
// "ok" by it. A layer that does not
// decompress or is not a valid tar archive is a [CheckArchive] finding
// naming the layer, the file being read and the offset in it, and the
// files it held back are "unread"; neither is an error. An error reading
// the layer's blob (the network) is an error, as for any file.
//
// A file whose data cannot be read where it is and has no layer to stream
// (reads failing with hub.ErrCompressedLayer) is no error either: it is
// reported "unread" with a [CheckUnread] finding saying what was not
// checked. With VerifyOptions.Shard only that part's files are read; with
// VerifyOptions.Copy each file's bytes are also handed to a copy.
//
// If ctx is cancelled, Verify stops and returns the partial report, marked
// Incomplete, together with an error wrapping the context's error. Any
// other error (an unreadable file) returns a nil report.
func Verify(ctx context.Context, ck *checkpoint.Checkpoint, opts VerifyOptions) (*VerifyReport, error) {
	start := time.Now()
	if ck.Origin() == nil {
		return nil, checkpoint.ErrNoData
	}
	jobs := opts.Jobs
	switch {
	case jobs == 0:
		jobs = runtime.NumCPU()
	case jobs < 0:
		return nil, fmt.Errorf("verify: jobs must be at least 1, got %d", jobs)
	}
	bufSize := opts.BufferSize
	switch {
	case bufSize == 0:
		bufSize = DefaultBufferSize
	case bufSize < 64<<10:
		return nil, fmt.Errorf("verify: buffer size %d is under 64 KiB", bufSize)
	}
	zeroRun := opts.ZeroRun
	switch {
	case zeroRun == 0:
		zeroRun = DefaultZeroRun
	case zeroRun < 0:
		return nil, fmt.Errorf("verify: zero run %d is negative", zeroRun)
	}
	for name, d := range opts.Expected {
		if !validDigest(d) {
			return nil, fmt.Errorf("verify: expected sha256 of %s: %q is not 64 hex digits", name, d)
		}
	}
	if err := opts.Shard.check(); err != nil {
		return nil, fmt.Errorf("verify: shard %d/%d: %v", opts.Shard.Index, opts.Shard.Count, err)
	}
	if m := opts.Manifest; m != nil && m.Shard != nil {
		return nil, fmt.Errorf("verify: manifest of %s, shard %s: %w", m.Source, m.Shard.Spec(), ErrPartialManifest)
	}
	v := &verifier{
		ck: ck, opts: opts, zeroRun: zeroRun, bufSize: bufSize,
		inv:             ck.Inventory(),
		manifestDigests: opts.Manifest != nil && opts.Manifest.hasTensorDigests(),
	}
	v.digests = opts.TensorDigests || v.manifestDigests
	v.pool = newBufPool(bufSize, min(max(4, 3*jobs), maxBuffers))
	v.plan()
	v.planLayers()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i := range v.files {
		if v.files[i].layer == nil {
			g.Go(func() error { return v.file(gctx, &v.files[i]) })
		}
	}
	for _, l := range v.layers {
		g.Go(func() error { return v.layer(gctx, l) })
	}
	err := g.Wait()
	v.pool.release()
	if err != nil && ctx.Err() == nil {
		return nil, err
	}
	r := v.report()
	r.Seconds = time.Since(start).Seconds()
	if ctx.Err() != nil {
		r.Incomplete, r.Pass = true, false
		return r, fmt.Errorf("verify %s: stopped before the end: %w", ck.Source, ctx.Err())
	}
	return r, nil
}

func validDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// verifier holds the state of one Verify call.
type verifier struct {
	ck      *checkpoint.Checkpoint
	inv     *checkpoint.Inventory
	opts    VerifyOptions
	zeroRun int64
	bufSize int
	digests bool
	// manifestDigests reports whether VerifyOptions.Manifest holds tensor
	// digests: then every tensor must be in it.
	manifestDigests bool
	pool            *bufPool
	files           []fileState    // the files to read: every file, or the shard's
	byFile          map[string]int // index in files
	all             map[string]bool
	shard           *ShardPlan
	scans           []*tensorScan // by inventory index
	layers          []*layerState // the layers streamed, in the order of their first file in files
	streams         chan struct{} // a token per layer streaming (see maxLayerStreams)
}

// fileState is one file being verified.
type fileState struct {
	name  string
	size  int64 // as listed when the checkpoint was loaded
	spans []span
	read  atomic.Int64
	sum   []byte // set when the file was read to its end
	// gitSum is the file's Git blob id, when one is expected and the file
	// was read to its end.
	gitSum []byte
	// unread is set when the file's data could not be read (see
	// CheckUnread): the reason, a phrase.
	unread string
	// layer is the layer the file is read from by streaming it (see
	// verifier.layer), nil for a file read with ReadAt where it is.
	layer *layerState
	// copyStatus and copyErr are the outcome of VerifyOptions.Copy.
	copyStatus, copyErr string
}

// span is one tensor's byte range in its file.
type span struct {
	start, end int64
	tensor     int // inventory index
	done       bool
}

// plan lists the files to read (those of the shard, when one is asked
// for) and each file's tensors in offset order.
func (v *verifier) plan() {
	all := checkpointFiles(v.ck)
	v.all = make(map[string]bool, len(all))
	for _, f := range all {
		v.all[f.Name] = true
	}
	var part []int
	if sp := v.opts.Shard; sp.Count > 0 {
		part = AssignShards(all, sp.Count)
		v.shard = &ShardPlan{Index: sp.Index, Count: sp.Count, Files: make([]ShardFile, len(all))}
		for i, f := range all {
			v.shard.Files[i] = ShardFile{Name: f.Name, Shard: part[i]}
		}
	}
	v.byFile = map[string]int{}
	for i, f := range all {
		if part == nil || part[i] == v.shard.Index {
			v.byFile[f.Name] = len(v.files)
			v.files = append(v.files, fileState{name: f.Name, size: f.Size})
		}
	}
	v.scans = make([]*tensorScan, len(v.inv.Tensors))
	checks := map[string]*valueCheck{}
	for i := range v.inv.Tensors {
		t := &v.inv.Tensors[i]
		fi, ok := v.byFile[t.File]
		if !ok {
			continue
		}
		vc := checks[t.DType]
		if vc == nil {
			vc = checkFor(v.ck.Format, t.DType)
			checks[t.DType] = vc
		}
		v.scans[i] = newTensorScan(vc, t.Bytes, v.zeroRun, nil)
		v.files[fi].spans = append(v.files[fi].spans, span{start: t.Offset, end: checked.SatAdd(t.Offset, t.Bytes), tensor: i})
	}
	for i := range v.files {
		slices.SortStableFunc(v.files[i].spans, func(a, b span) int {
			switch {
			case a.start < b.start:
				return -1
			case a.start > b.start:
				return 1
			}
			return 0
		})
	}
}

// chunk is one buffer of a file.
type chunk struct {
	buf  []byte
	off  int64
	refs atomic.Int32
}

// file reads one file to its end: one goroutine reads buffers, another
// hashes and checks them, a slice at a time so that the checks find the
// bytes in the cache; with tensor digests, which double the hashing, one
// goroutine hashes the file and another checks and hashes the tensors.
// With VerifyOptions.Copy, a third goroutine hands the buffers to the
// copy. A file whose data cannot be read where it is (hub.ErrCompressedLayer)
// is marked unread, not an error.
func (v *verifier) file(ctx context.Context, fs *fileState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := v.ck.Origin().Open(ctx, fs.name)
	if err != nil {
		return err
	}
	defer f.Close()
	return v.read(ctx, fs, f, f.Size())
}

// read is the pipeline of file over f, the file's size bytes: it reads
// them with ReadAt strictly in order, from offset 0 to the end, from one
// goroutine (a reader of a stream can serve it: see seqReaderAt).
func (v *verifier) read(ctx context.Context, fs *fileState, f io.ReaderAt, size int64) error {
	fs.size = size
	path := hub.Path(v.ck.Origin(), fs.name)

	var fc FileCopy
	if v.opts.Copy != nil {
		switch c, err := v.opts.Copy(fs.name, size); {
		case err != nil:
			fs.copyStatus, fs.copyErr = CopyNotStored, err.Error()
		case c == nil:
			fs.copyStatus = CopyPresent
		default:
			fc = c
		}
	}

	var scratch []float32
	d := &dispatcher{v: v, fs: fs, scratch: &scratch}
	h := sha256.New()
	var gh hash.Hash // the Git blob id, only when one is to be checked
	if want, _, _ := v.expected(fs.name); want == "" && v.opts.ExpectedGitBlob[fs.name] != "" {
		gh = sha1.New()
		fmt.Fprintf(gh, "blob %d\x00", size)
	}
	nbuf := cap(v.pool.free)
	g, gctx := errgroup.WithContext(ctx)
	// Each channel can hold every buffer there is, so sends never block.
	toHash := make(chan *chunk, nbuf)
	var toCheck, toCopy chan *chunk
	refs := int32(1)
	if v.opts.split || v.digests { // the tensor digests double the work: give them a goroutine
		toCheck = make(chan *chunk, nbuf)
		refs++
	}
	if fc != nil {
		toCopy = make(chan *chunk, nbuf)
		refs++
	}
	release := func(c *chunk) {
		if c.refs.Add(-1) == 0 {
			v.pool.put(c.buf)
		}
	}
	var unread error
	g.Go(func() error {
		defer close(toHash)
		if toCheck != nil {
			defer close(toCheck)
		}
		if toCopy != nil {
			defer close(toCopy)
		}
		for off := int64(0); off < size; {
			n := int(min(int64(v.bufSize), size-off))
			buf, err := v.pool.get(gctx)
			if err != nil {
				return err
			}
			k, err := f.ReadAt(buf[:n], off)
			if k < n {
				v.pool.put(buf)
				if errors.Is(err, hub.ErrCompressedLayer) {
					unread = err
				}
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("%s: read %d bytes at offset %d: %w", path, n, off, err)
			}
			c := &chunk{buf: buf[:n], off: off}
			c.refs.Store(refs)
			if toCheck != nil {
				toCheck <- c
			}
			if toCopy != nil {
				toCopy <- c
			}
			toHash <- c
			off += int64(n)
		}
		return nil
	})
	g.Go(func() error {
		for c := range toHash {
			if err := gctx.Err(); err != nil {
				release(c)
				continue
			}
			if gh != nil {
				gh.Write(c.buf)
			}
			if toCheck != nil {
				h.Write(c.buf)
			} else {
				for p, off := c.buf, c.off; len(p) > 0; {
					k := min(len(p), hashSlice)
					h.Write(p[:k])
					d.dispatch(p[:k], off)
					p, off = p[k:], off+int64(k)
				}
			}
			fs.read.Add(int64(len(c.buf)))
			if v.opts.Progress != nil {
				v.opts.Progress(fs.name, int64(len(c.buf)))
			}
			release(c)
		}
		return gctx.Err()
	})
	if toCheck != nil {
		g.Go(func() error {
			for c := range toCheck {
				if gctx.Err() == nil {
					d.dispatch(c.buf, c.off)
				}
				release(c)
			}
			return gctx.Err()
		})
	}
	var copyErr error
	if toCopy != nil {
		g.Go(func() error {
			for c := range toCopy {
				if copyErr == nil && gctx.Err() == nil {
					_, copyErr = fc.Write(c.buf)
				}
				release(c)
			}
			return nil // a failed copy does not stop the verification
		})
	}
	err := g.Wait()
	if fc != nil {
		v.endCopy(fs, fc, err, copyErr)
	}
	if err != nil {
		if unread != nil && ctx.Err() == nil {
			fs.unread = fmt.Sprintf("its data cannot be read where it is (%s)", unread)
			return nil
		}
		return err
	}
	fs.sum = h.Sum(nil)
	if gh != nil {
		fs.gitSum = gh.Sum(nil)
	}
	d.finishFile(size)
	return nil
}

// endCopy commits or aborts a file's copy and records the outcome.
func (v *verifier) endCopy(fs *fileState, fc FileCopy, readErr, writeErr error) {
	switch {
	case readErr != nil:
		fc.Abort()
		fs.copyStatus, fs.copyErr = CopyNotStored, "the file was not read to its end"
	case writeErr != nil:
		fc.Abort()
		fs.copyStatus, fs.copyErr = CopyNotStored, writeErr.Error()
	default:
		if err := fc.Commit(); err != nil {
			fs.copyStatus, fs.copyErr = CopyNotStored, err.Error()
		} else {
			fs.copyStatus = CopyStored
		}
	}
}

// dispatcher hands the bytes of a file to the scans of the tensors they
// belong to; a buffer may hold several tensors and a tensor span several
// buffers.
type dispatcher struct {
	v       *verifier
	fs      *fileState
	next    int   // next span to start
	active  []int // spans started and not ended
	scratch *[]float32
}

func (d *dispatcher) dispatch(p []byte, off int64) {
	end := off + int64(len(p))
	spans := d.fs.spans
	for d.next < len(spans) && spans[d.next].start < end {
		d.start(d.next)
		d.active = append(d.active, d.next)
		d.next++
	}
	keep := d.active[:0]
	for _, i := range d.active {
		sp := &spans[i]
		lo, hi := max(sp.start, off), min(sp.end, end)
		if lo < hi {
			d.v.scans[sp.tensor].write(p[lo-off : hi-off])
		}
		if sp.end <= end {
			d.end(sp)
		} else {
			keep = append(keep, i)
		}
	}
	d.active = keep
}

func (d *dispatcher) start(i int) {
	s := d.v.scans[d.fs.spans[i].tensor]
	s.scratch = d.scratch
	if d.v.digests {
		s.digest = sha256.New()
	}
}

func (d *dispatcher) end(sp *span) {
	s := d.v.scans[sp.tensor]
	s.finish()
	if s.digest != nil {
		s.sum = s.digest.Sum(nil)
		s.digest = nil
	}
	s.scratch = nil
	sp.done = true
}

// finishFile ends the spans that ended at or before the end of the file
// without a byte past their start (empty tensors at the end).
func (d *dispatcher) finishFile(size int64) {
	for i := d.next; i < len(d.fs.spans); i++ {
		sp := &d.fs.spans[i]
		if sp.end <= size {
			d.start(i)
			d.end(sp)
		}
	}
	for _, i := range d.active {
		if sp := &d.fs.spans[i]; sp.end <= size {
			d.end(sp)
		}
	}
}

// bufPool hands out at most n buffers of one size.
type bufPool struct {
	size int
	free chan []byte
	sem  chan struct{}
}

func newBufPool(size, n int) *bufPool {
	return &bufPool{size: size, free: make(chan []byte, n), sem: make(chan struct{}, n)}
}

func (p *bufPool) get(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.free:
		return b, nil
	default:
	}
	select {
	case b := <-p.free:
		return b, nil
	case p.sem <- struct{}{}:
		if p.size == DefaultBufferSize {
			if b, ok := defaultBuffers.Get().(*[]byte); ok {
				return *b, nil
			}
		}
		return make([]byte, p.size), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *bufPool) put(b []byte) { p.free <- b[:cap(b)] }

// release hands the buffers of a finished Verify to the next one.
func (p *bufPool) release() {
	for {
		select {
		case b := <-p.free:
			if len(b) == DefaultBufferSize {
				defaultBuffers.Put(&b)
			}
		default:
			return
		}
	}
}

// defaultBuffers keeps buffers of DefaultBufferSize between Verify calls
// (a diff of two sources, a benchmark), until the garbage collector takes
// them.
var defaultBuffers sync.Pool

// expected returns the digest and size (-1 unknown) a file must have, and
// where the digest comes from.
func (v *verifier) expected(name string) (string, int64, string) {
	if d, ok := v.opts.Expected[name]; ok {
		from := v.opts.ExpectedFrom
		if from == "" {
			from = "expected digest"
		}
		return strings.ToLower(d), -1, from
	}
	if m := v.opts.Manifest; m != nil {
		if f, ok := m.file(name); ok {
			return f.SHA256, f.Size, "manifest"
		}
	}
	return "", -1, ""
}

// report builds the report from the files' and tensors' states.
func (v *verifier) report() *VerifyReport {
	r := &VerifyReport{Source: v.ck.Source, Format: v.ck.Format, Shard: v.shard, Files: []FileCheck{}, Tensors: []TensorCheck{}, Findings: []VerifyFinding{}}
	for i := range v.files {
		fs := &v.files[i]
		fc := FileCheck{Name: fs.name, Size: fs.size, Read: fs.read.Load(), Status: "unchecked",
			Note: v.opts.Notes[fs.name], Copy: fs.copyStatus, CopyError: fs.copyErr}
		if fs.layer != nil && fc.Note == "" {
			fc.Note = fs.layer.note()
		}
		want, wantSize, from := v.expected(fs.name)
		fc.Expected, fc.ExpectedFrom = want, from
		switch {
		case fs.unread != "":
			fc.Status = "unread"
			n := 0
			for _, sp := range fs.spans {
				if !sp.done {
					n++
				}
			}
			msg := fmt.Sprintf("not verified: %s; no sha256", fs.unread)
			if want != "" {
				msg += fmt.Sprintf(" to compare with the %s %s", from, want)
			}
			if n > 0 {
				msg += fmt.Sprintf(", and no data checks (NaN/Inf, zero runs, statistics) of %d of its %d tensor(s)", n, len(fs.spans))
			}
			r.Findings = append(r.Findings, VerifyFinding{Check: CheckUnread, File: fs.name, Offset: fc.Read, Expected: want, Message: msg})
		case fs.sum == nil:
			fc.Status = "incomplete"
		default:
			fc.SHA256 = hex.EncodeToString(fs.sum)
			if want != "" {
				fc.Status = "ok"
				if want != fc.SHA256 {
					fc.Status = "mismatch"
					msg := fmt.Sprintf("sha256 %s, expected %s", fc.SHA256, want)
					if wantSize >= 0 && wantSize != fs.size {
						msg += fmt.Sprintf(" (size %d, expected %d)", fs.size, wantSize)
					}
					r.Findings = append(r.Findings, VerifyFinding{Check: CheckSHA256, File: fs.name, Expected: want, Actual: fc.SHA256, Message: msg})
				}
			} else if gw := strings.ToLower(v.opts.ExpectedGitBlob[fs.name]); gw != "" && fs.gitSum != nil {
				fc.GitBlob, fc.ExpectedGitBlob, fc.ExpectedFrom = hex.EncodeToString(fs.gitSum), gw, "Hub Git blob id"
				fc.Status = "ok"
				if fc.GitBlob != gw {
					fc.Status = "mismatch"
					r.Findings = append(r.Findings, VerifyFinding{Check: CheckGitBlob, File: fs.name, Expected: gw, Actual: fc.GitBlob,
						Message: fmt.Sprintf("Git blob id %s, the Hub lists %s", fc.GitBlob, gw)})
				}
			} else if fs.layer != nil && fs.layer.mismatch() {
				fc.Status = "mismatch" // no digest of its own: its layer's
			} else if fs.layer != nil && fs.layer.verified() {
				fc.Status, fc.ExpectedFrom = "ok", "its layer's digest" // the layer's sha256 covers the file's bytes
			}
		}
		r.Files = append(r.Files, fc)
		r.Totals.Bytes += fs.size
		r.Totals.BytesRead += fc.Read
	}
	for _, l := range v.layers {
		ac, fs := l.check()
		r.Archives = append(r.Archives, ac)
		r.Findings = append(r.Findings, fs...)
	}
	if m := v.opts.Manifest; m != nil {
		for _, mf := range m.Files {
			if !v.all[mf.Name] {
				r.Findings = append(r.Findings, VerifyFinding{Check: CheckManifest, File: mf.Name, Expected: mf.SHA256,
					Message: fmt.Sprintf("file in the manifest (%d bytes) is not part of the checkpoint", mf.Size)})
			}
		}
	}
	done := map[int]bool{}
	for i := range v.files {
		for _, sp := range v.files[i].spans {
			if sp.done {
				done[sp.tensor] = true
			}
		}
	}
	for i := range v.inv.Tensors {
		t := &v.inv.Tensors[i]
		if _, ok := v.byFile[t.File]; !ok && v.shard != nil {
			continue // another shard's
		}
		tc, fs := v.tensorCheck(i, t, done[i])
		r.Tensors = append(r.Tensors, tc)
		r.Findings = append(r.Findings, fs...)
		r.Totals.TensorBytes += t.Bytes
		r.Totals.NaN += tc.NaN
		r.Totals.Inf += tc.Inf
	}
	if m := v.opts.Manifest; v.manifestDigests {
		have := make(map[string]bool, len(v.inv.Tensors))
		for i := range v.inv.Tensors {
			have[v.inv.Tensors[i].Name] = true
		}
		for _, mt := range m.Tensors {
			if !have[mt.Name] {
				r.Findings = append(r.Findings, VerifyFinding{Check: CheckManifest, File: mt.File, Tensor: mt.Name, Expected: mt.SHA256,
					Message: fmt.Sprintf("tensor in the manifest (%s %v) is not in the checkpoint", mt.DType, mt.Shape)})
			}
		}
	}
	r.Totals.Files, r.Totals.Tensors = len(r.Files), len(r.Tensors)
	r.Layers = verifyLayers(r)
	r.Pass = len(r.Findings) == 0
	return r
}

// tensorCheck gives one tensor's result and findings.
func (v *verifier) tensorCheck(i int, t *checkpoint.Tensor, done bool) (TensorCheck, []VerifyFinding) {
	tc := TensorCheck{Name: t.Name, File: t.File, DType: t.DType, Shape: t.Shape, Offset: t.Offset, Bytes: t.Bytes, Layer: t.Layer}
	s := v.scans[i]
	if s == nil {
		tc.Incomplete = true
		return tc, nil
	}
	tc.Checked = s.vc.covers()
	var out []VerifyFinding
	add := func(check string, off, length, count int64, msg string) {
		out = append(out, VerifyFinding{Check: check, File: t.File, Tensor: t.Name, Offset: off, Length: length, Count: count, Message: msg})
	}
	if !done {
		tc.Incomplete = true
		if size := v.fileSize(t.File); size >= 0 && t.Offset+t.Bytes > size {
			tc.Missing = min(t.Bytes, t.Offset+t.Bytes-size)
			add(CheckTruncated, max(t.Offset, size), tc.Missing, 0,
				fmt.Sprintf("%d of its %d bytes are past the end of the file (%d bytes)", tc.Missing, t.Bytes, size))
		}
		return tc, out
	}
	tc.NaN, tc.Inf = s.nan, s.inf
	what := "values"
	if tc.Checked == "scales" {
		what = "block scales"
	}
	if s.nan > 0 {
		add(CheckNaN, t.Offset+s.firstNaN, 0, s.nan, fmt.Sprintf("%d NaN %s, the first at offset %d", s.nan, what, t.Offset+s.firstNaN))
	}
	if s.inf > 0 {
		add(CheckInf, t.Offset+s.firstInf, 0, s.inf, fmt.Sprintf("%d infinite %s, the first at offset %d", s.inf, what, t.Offset+s.firstInf))
	}
	if t.Bytes > 0 && !s.zeros.nonzero {
		tc.AllZero = true
		add(CheckAllZero, t.Offset, t.Bytes, 0, fmt.Sprintf("all %d bytes are zero", t.Bytes))
	}
	for _, z := range s.zeros.runs {
		zr := ZeroRun{Offset: t.Offset + z.Offset, Length: z.Length}
		tc.ZeroRuns = append(tc.ZeroRuns, zr)
		add(CheckZeroRun, zr.Offset, zr.Length, 0, fmt.Sprintf("%d zero bytes (%s) at offset %d, %d bytes into the tensor", zr.Length, textfmt.Bytes(zr.Length), zr.Offset, z.Offset))
	}
	if s.decodeErr == nil {
		tc.Stats = s.acc.stats(!s.sampleAll)
	}
	if s.sum != nil {
		tc.SHA256 = hex.EncodeToString(s.sum)
		if m := v.opts.Manifest; m != nil {
			switch mt, ok := m.tensor(t.Name); {
			case ok && mt.SHA256 != "" && mt.SHA256 != tc.SHA256:
				out = append(out, VerifyFinding{Check: CheckTensorSHA256, File: t.File, Tensor: t.Name, Offset: t.Offset,
					Expected: mt.SHA256, Actual: tc.SHA256, Message: fmt.Sprintf("sha256 of its %d bytes %s, expected %s", t.Bytes, tc.SHA256, mt.SHA256)})
			case !ok && v.manifestDigests:
				add(CheckManifest, t.Offset, 0, 0, "tensor is not in the manifest")
			}
		}
	}
	return tc, out
}

func (v *verifier) fileSize(name string) int64 {
	if i, ok := v.byFile[name]; ok {
		return v.files[i].size
	}
	return -1
}

// verifyLayers sums the tensor results per layer.
func verifyLayers(r *VerifyReport) []LayerCheck {
	m := map[int]*LayerCheck{}
	for i := range r.Tensors {
		t := &r.Tensors[i]
		lc := m[t.Layer]
		if lc == nil {
			lc = &LayerCheck{Layer: t.Layer}
			m[t.Layer] = lc
		}
		lc.Tensors++
		lc.Bytes += t.Bytes
		lc.NaN += t.NaN
		lc.Inf += t.Inf
		if t.AllZero {
			lc.AllZero++
		}
		lc.ZeroRuns += len(t.ZeroRuns)
		if t.Stats != nil {
			lc.AbsMax = max(lc.AbsMax, t.Stats.AbsMax)
		}
	}
	layerOf := map[string]int{}
	for i := range r.Tensors {
		layerOf[r.Tensors[i].Name] = r.Tensors[i].Layer
	}
	for _, f := range r.Findings {
		if l, ok := layerOf[f.Tensor]; ok && f.Tensor != "" {
			m[l].Findings++
		}
	}
	out := make([]LayerCheck, 0, len(m))
	for _, lc := range m {
		out = append(out, *lc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Layer < out[j].Layer })
	return out
}

// WriteJSON writes the report as indented JSON.
func (r *VerifyReport) WriteJSON(w io.Writer) error {
	return textfmt.WriteJSON(w, r)
}

// WriteText writes the report for people: the verdict, the files and their
// digests, the findings (at most 40) and a per-layer summary.
func (r *VerifyReport) WriteText(w io.Writer) error {
	p := &textfmt.Printer{W: w}
	status := verdict(r.Pass)
	if r.Incomplete {
		status = "INCOMPLETE"
	}
	rate := 0.0
	if r.Seconds > 0 {
		rate = float64(r.Totals.BytesRead) / r.Seconds / 1e6
	}
	p.F("verify %s  %s\n", r.Source, status)
	p.F("  %s, %d file(s), %d tensor(s); read %s of %s in %.2f s (%.0f MB/s)\n",
		r.Format, r.Totals.Files, r.Totals.Tensors, textfmt.Bytes(r.Totals.BytesRead), textfmt.Bytes(r.Totals.Bytes), r.Seconds, rate)
	if sh := r.Shard; sh != nil {
		p.F("  shard %d/%d: %d of the checkpoint's %d file(s)\n", sh.Index, sh.Count, len(r.Files), len(sh.Files))
	}
	p.F("\nfiles\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range r.Files {
		sum := f.SHA256
		if sum == "" {
			sum = fmt.Sprintf("(read %s of %s)", textfmt.Bytes(f.Read), textfmt.Bytes(f.Size))
		}
		status := f.Status
		if f.ExpectedFrom != "" && (f.Status == "ok" || f.Status == "mismatch") {
			status += " (" + f.ExpectedFrom + ")"
		}
		switch f.Copy {
		case "":
		case CopyNotStored:
			status += "; " + f.Copy + ": " + f.CopyError
		default:
			status += "; " + f.Copy
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Name, textfmt.Bytes(f.Size), sum, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Files {
		if f.Note != "" {
			p.F("  note: %s: %s\n", f.Name, f.Note)
		}
	}
	if len(r.Archives) > 0 {
		p.F("\narchives (layers read from their start)\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, a := range r.Archives {
			sum := a.SHA256
			if sum == "" {
				sum = "(not read to its end)"
			}
			fmt.Fprintf(tw, "  %s\t%d file(s)\t%s\t%s\n", a.Digest, len(a.Files), sum, a.Status)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Findings) > 0 {
		p.F("\nfindings (%d)\n", len(r.Findings))
		for i, f := range r.Findings {
			if i == maxTextFindings {
				p.F("  … and %d more (see --json)\n", len(r.Findings)-i)
				break
			}
			where := f.File
			switch {
			case f.Tensor != "":
				where = fmt.Sprintf("tensor %s (%s)", f.Tensor, f.File)
			case f.Layer != "" && f.File != "":
				where = fmt.Sprintf("layer %s (%s)", f.Layer, f.File)
			case f.Layer != "":
				where = "layer " + f.Layer
			}
			p.F("  %-20s %s: %s\n", f.Check, where, f.Message)
		}
	}
	if len(r.Layers) > 0 {
		p.F("\nlayers\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "layer\ttensors\tbytes\tNaN\tInf\tall-zero\tzero runs\tabsmax\tfindings\t\n")
		for _, l := range r.Layers {
			name := fmt.Sprint(l.Layer)
			if l.Layer < 0 {
				name = "other"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%.4g\t%d\t\n", name, l.Tensors, textfmt.Bytes(l.Bytes), l.NaN, l.Inf, l.AllZero, l.ZeroRuns, l.AbsMax, l.Findings)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return p.Err
}
