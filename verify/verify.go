package verify

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/weightaudit/weightaudit/checkpoint"
)

// The ids of the findings of [Run], in the style of the audit's check ids.
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
	CheckArchive      = "VERIFY-ARCHIVE"       // a layer read from its start does not decompress or is not a valid tar archive (see Report.Archives)
	CheckMissingFile  = "VERIFY-MISSING-FILE"  // a shard the safetensors index names is absent
	CheckSHA512       = "VERIFY-SHA512"        // a file's SHA-512 differs from the expected digest
	CheckNoDigest     = "VERIFY-NO-DIGEST"     // with Options.RequireDigests: a file with no reference digest to compare with
)

// DefaultBufferSize is the size of the reads of [Run]: 4 MiB.
const DefaultBufferSize = 4 << 20

// maxBuffers bounds the read buffers of one [Run] call whatever the
// number of jobs, so its memory is bounded by maxBuffers·BufferSize.
const maxBuffers = 32

// hashSlice is the piece of a buffer hashed and checked in turn, so that the
// checks find the bytes the hash just read in the cache.
const hashSlice = 256 << 10

// Options configures [Run]. The zero value verifies with the
// defaults.
type Options struct {
	// Jobs is the number of files read at once. The default (0) is the
	// number of CPUs; a negative value is an error.
	Jobs int

	// Expected maps file names (as in Checkpoint.Files) to the sha256
	// each file must have, in hex, such as a hub's LFS digests. It takes
	// precedence over Manifest for the files it names. The default is none.
	Expected map[string]string

	// ExpectedSHA512 maps file names to the SHA-512 (hex) each must have,
	// for sources that publish that algorithm (an OCI layer digest
	// sha512:…); it applies to files Expected does not name. The default
	// is none.
	ExpectedSHA512 map[string]string

	// RequireDigests makes every file that has no reference digest to
	// compare with (from Expected, ExpectedGitBlob, the manifest, or its
	// layer's digest) a finding: integrity compared with nothing is a
	// failure, not a pass. The default is false.
	RequireDigests bool

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
	// every file with its part (Report.Shard). A Manifest is then
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

// FileCopy receives a copy of a file's bytes from [Run] (see
// Options.Copy): Write in order, then Commit or Abort, once, all from
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

// Report is what [Run] found. Its JSON keys are stable.
type Report struct {
	// SchemaVersion is [SchemaVersion] (schema/verify.vN.json).
	SchemaVersion int               `json:"schema_version"`
	Source        string            `json:"source"`
	Format        checkpoint.Format `json:"format"`
	Pass          bool              `json:"pass"`       // complete, and no findings
	Incomplete    bool              `json:"incomplete"` // stopped before every byte was read (cancelled)
	// Verdict is "pass", "fail" or "incomplete"; Headline, the report's
	// first line, says it with the first finding, or what a pass covers:
	// whether the files were compared with any reference digest.
	Verdict  string `json:"verdict"`
	Headline string `json:"headline"`
	// Unchecked counts the files compared with no reference digest: their
	// integrity rests on the data checks alone.
	Unchecked int            `json:"unchecked"`
	Shard     *ShardPlan     `json:"shard,omitempty"` // the part verified, when Options.Shard was set
	Files     []FileCheck    `json:"files"`
	Tensors   []TensorCheck  `json:"tensors"`
	Layers    []LayerCheck   `json:"layers"`
	Archives  []ArchiveCheck `json:"archives,omitempty"` // the layers read from their start, when the source has any (see Verify)
	Findings  []Finding      `json:"findings"`
	Totals    Totals         `json:"totals"`
	Seconds   float64        `json:"seconds"`
	// Started is when [Run] began (the JUnit report's timestamp).
	Started time.Time `json:"started,omitzero"`
}

// SchemaVersion is the version of the JSON Schema of [Report]
// (schema/verify.vN.json): bumped whenever the report's JSON shape
// changes.
const SchemaVersion = 1

// FileCheck is the result for one file.
type FileCheck struct {
	Name         string `json:"name"`
	Size         int64  `json:"size"`
	Read         int64  `json:"bytes_read"`
	SHA256       string `json:"sha256,omitempty"`          // empty when the file was not read to its end
	Expected     string `json:"expected_sha256,omitempty"` // from Options.Expected or the manifest
	ExpectedFrom string `json:"expected_from,omitempty"`   // where Expected comes from: Options.ExpectedFrom, or "manifest"
	Status       string `json:"status"`                    // "ok" (also: no digest of its own, and its layer's digest matches), "mismatch" (also: no digest of its own, and its layer's digest differs), "unchecked" (no expected digest), "unread" (see CheckUnread), "incomplete"
	Note         string `json:"note,omitempty"`            // from Options.Notes, else for a file read as its layer streamed, which layer
	Copy         string `json:"copy,omitempty"`            // with Options.Copy: CopyStored, CopyPresent or CopyNotStored
	CopyError    string `json:"copy_error,omitempty"`      // why the copy was not stored
	// GitBlob and ExpectedGitBlob are the file's Git blob id and the one
	// published, for a file checked against Options.ExpectedGitBlob.
	GitBlob         string `json:"git_blob,omitempty"`
	ExpectedGitBlob string `json:"expected_git_blob,omitempty"`
	// SHA512 and ExpectedSHA512 are the file's SHA-512 and the one
	// published, for a file checked against Options.ExpectedSHA512.
	SHA512         string `json:"sha512,omitempty"`
	ExpectedSHA512 string `json:"expected_sha512,omitempty"`
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

// Finding is one defect found by [Run].
type Finding struct {
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
	// (see Report.Archives): its digest, and the checkpoint's files
	// inside it.
	Layer string   `json:"layer,omitempty"`
	Files []string `json:"files,omitempty"`
}

// Totals sums a report.
type Totals struct {
	Files       int   `json:"files"`
	Tensors     int   `json:"tensors"`
	Bytes       int64 `json:"bytes"`      // file bytes
	BytesRead   int64 `json:"bytes_read"` // file bytes read and hashed
	TensorBytes int64 `json:"tensor_bytes"`
	NaN         int64 `json:"nan"`
	Inf         int64 `json:"inf"`
}

// Run reads every byte of every file of ck: the model files, and the
// index and config.json when there are. It computes each file's sha256
// and checks each tensor's bytes for NaN and Inf values (or quantized
// blocks' scales), all-zero data and zero-filled runs, and samples
// statistics; see [Options] for the digests it compares.
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
// with its digest (Report.Archives): a mismatch is a [CheckSHA256]
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
// checked. With Options.Shard only that part's files are read; with
// Options.Copy each file's bytes are also handed to a copy.
//
// If ctx is cancelled, Verify stops and returns the partial report, marked
// Incomplete, together with an error wrapping the context's error. Any
// other error (an unreadable file) returns a nil report.
func Run(ctx context.Context, ck *checkpoint.Checkpoint, opts Options) (*Report, error) {
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
	r.Seconds, r.Started = time.Since(start).Seconds(), start
	if ctx.Err() != nil {
		r.Incomplete, r.Pass = true, false
		r.decide()
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
