package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/audit/synth"
	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/hub"
	"github.com/weightaudit/weightaudit/internal/atomicfile"
	"github.com/weightaudit/weightaudit/internal/safefs"
	"github.com/weightaudit/weightaudit/verify"
)

func newVerifyCmd() *cobra.Command {
	var (
		rf             reportFlags
		jobs           int
		record         string
		manifest       string
		builtin        string
		shard          string
		merge          bool
		cache          bool
		requireDigests bool
	)
	cmd := &cobra.Command{
		// verify checks the bytes the source serves now: no header from
		// the cache may stand in for them.
		Annotations: map[string]string{noHeaderCache: "true"},
		Use: "verify SOURCE [--jobs N] [--format table|json|markdown|junit] [-o FILE] [--report FORMAT=PATH]... [--record FILE] [--manifest FILE] [--shard I/N] [--cache]\n" +
			"  weightaudit verify --merge PART.json... [--record FILE]",
		Short: "Read every byte: sha256 of every file, NaN/Inf, zero-filled holes and statistics per tensor",
		Long: `verify streams every byte of every file of SOURCE (model files, index,
config.json), several files at once, and reports:

  - the sha256 of every file, compared with the digest the source
    publishes (a Hub repository's LFS sha256, an OCI registry's layer
    digest) or with --manifest FILE when given (a mismatch names the file,
    the expected and the actual digest, and each tensor whose bytes
    changed);
  - per tensor: NaN and Inf counts (F32, F16, BF16, F64, F8 values; the
    scales of quantized GGUF blocks), all-zero tensors, zero-filled runs of
    1 MiB or more with their offsets, truncated tensors, and statistics
    (min, max, mean, std, absmax) over a sample of the values;
  - a per-layer summary.

The files inside a compressed tar layer of an OCI artifact (ModelPack
tar+gzip, tar+zstd) cannot be range-read: each such layer is streamed once
(one request, however many files it holds; the listing streamed it once
before), decompressed, and its files are checked as they pass, like any
other file. No digest covers such a file alone: its row is "ok" by its
layer's digest when the layer's sha256 matches and it decompressed
cleanly (against --manifest, the manifest's digest decides), with a note
naming its layer; the layer's sha256, computed over its compressed bytes, is compared with
the layer's digest (the "archives" of the report). A mismatch is a
VERIFY-SHA256 finding naming the layer, the expected and the actual digest
and the files inside it, whose rows say "mismatch". A layer that does not
decompress, or is not a valid tar archive, is a VERIFY-ARCHIVE finding
naming the layer, the file being read and the offset in it (exit 1); the
files it held back are "unread" with a VERIFY-UNREAD finding. A layer
whose blob cannot be fetched to its end is an error (exit 2).

--record FILE writes a manifest (tool version, every file's name, size and
sha256, every tensor's name, file, dtype, shape and sha256) atomically, for a
later --manifest or diff. Tensor digests double the hashing work, so they
are computed only with --record or a --manifest that holds them.

--shard I/N verifies only the I-th of N parts of the files (1 <= I <= N):
the files, index and config.json included, are dealt largest first, each
to the part holding the fewest bytes so far (ties: fewest files, then the
lowest part; equal sizes in name order), so every machine deals the same
parts from the same listing. The report names the part and its files; with
--record it writes a partial manifest, marked with its shard.
Without --shard, a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (0-based)
and JOB_COMPLETION_COUNT (set it to the Job's completions) select part
INDEX+1 of COUNT.
--merge PART.json... joins the partial manifests of all N parts into the
manifest an unsharded --record writes (to --record FILE, else to stdout);
overlapping, missing or mismatched parts are refused (exit 2).

--cache, for a Hugging Face Hub SOURCE, also stores each file it reads in
the Hugging Face cache (HF_HUB_CACHE, else HF_HOME/hub, else
~/.cache/huggingface/hub) in huggingface_hub's layout: blobs/ named by the
LFS sha256 (by the Git blob hash for files not in LFS), snapshots/COMMIT/
links, refs/REVISION. A blob is moved into place only when its sha256 is
the LFS digest; a mismatched file leaves nothing behind. A later
audit, inspect or verify of the same revision then reads the cached files
(HF_HUB_OFFLINE=1 with no request at all).

For an oci:// or ollama:// SOURCE read from a registry, --cache stores
each raw layer it reads (a GGUF or safetensors file stored as is) in
weightaudit's blob store ($WEIGHTAUDIT_CACHE/blobs, default
weightaudit/blobs in the user cache folder) as sha256/HEX, moved into
place only when its sha256 is the layer's digest; a mismatched layer
leaves nothing behind. A later audit, inspect, spotcheck or dump of any
artifact holding that layer reads it from the store, with no request for
it (--no-cache turns the store off; verify and diff never read it). The
files inside tar layers are not stored (the store holds whole layer
blobs): their rows say "not stored" and why, which is no failure.

Without --cache nothing is written. For a local SOURCE, and an ollama://
model read from the local Ollama store, --cache does nothing.

A progress line goes to stderr when it is a terminal. Ctrl-C stops the
reads and prints the partial report, marked INCOMPLETE.

--builtin NAME verifies a built-in layout (` + strings.Join(synth.BuiltinNames(), ", ") + `):
its data is virtual zeros, so every tensor is all-zero, and it is large.

It exits 1 on a finding (a mismatch, a defect, a file that could not be
verified) and 2 when it could not complete: interrupted (the report is then
incomplete) or --cache unable to store a file.`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if merge {
				for _, f := range []string{"shard", "manifest", "builtin", "cache", "json", "format", "output", "report"} {
					if cmd.Flags().Changed(f) {
						return usageError(cmd, "--merge takes partial manifests and writes a manifest: --"+f+" does not apply")
					}
				}
				if len(args) == 0 {
					return usageError(cmd, "--merge needs the partial manifests written by verify --shard I/N --record FILE")
				}
				return mergeShards(cmd, args, record)
			}
			outs, err := outputs(cmd, &rf, lookupIn(verify.Formats))
			if err != nil {
				return err
			}
			if len(args) > 1 {
				return usageError(cmd, fmt.Sprintf("give one SOURCE, got %d arguments (several only with --merge)", len(args)))
			}
			if (len(args) == 1) == (builtin != "") {
				return usageError(cmd, "give either SOURCE or --builtin NAME")
			}
			if jobs < 1 {
				return usageError(cmd, fmt.Sprintf("--jobs must be at least 1, got %d", jobs))
			}
			var part verify.ShardSpec
			if !cmd.Flags().Changed("shard") {
				var err error
				if shard, err = shardFromJob(os.Getenv); err != nil {
					return usageError(cmd, err.Error())
				}
			}
			if shard != "" || cmd.Flags().Changed("shard") {
				var err error
				if part, err = verify.ParseShard(shard); err != nil {
					return usageError(cmd, "--shard "+err.Error())
				}
			}
			if off, _ := cmd.Flags().GetBool("no-cache"); cache && off && len(args) == 1 && isRegistrySpec(args[0]) {
				return usageError(cmd, "--cache stores the layers of "+args[0]+" in the blob store, which --no-cache turns off: give one of them")
			}
			var m *verify.Manifest
			if manifest != "" {
				var err error
				if m, err = readManifestFile(manifest); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			ck, src, err := load(cmd, args, builtin, jobs, checkpoint.WithPartialFiles())
			if err != nil {
				return err
			}
			opts := verify.Options{Jobs: jobs, Manifest: m, TensorDigests: record != "", Shard: part, RequireDigests: requireDigests}
			opts.Expected, opts.ExpectedFrom, opts.Notes = expectedDigests(src, ck)
			opts.ExpectedSHA512 = expectedSHA512(src, ck)
			opts.ExpectedGitBlob = expectedGitBlobs(src, ck)
			var hc *mirrorCache
			if cache {
				if hc, err = newVerifyCache(cmd, src); err != nil {
					return err
				}
				if hc != nil {
					opts.Copy = hc.create
				}
			}
			bar := newFilesBar(cmd, "verify", verify.ShardFiles(ck, part))
			if bar != nil {
				opts.Progress = bar.AddFile
			}
			r, verr := verify.Run(ctx, ck, opts)
			bar.Stop()
			var cerr error
			if hc != nil {
				cerr = hc.finish(cmd, r)
			}
			if r == nil {
				return verr
			}
			if err := writeReports(cmd, outs, r); err != nil {
				return err
			}
			if verr != nil {
				return fmt.Errorf("%w; the report is incomplete", verr)
			}
			if record != "" {
				mf, err := verify.NewManifest(r)
				if err != nil {
					return err
				}
				if err := atomicfile.WriteTarget(record, 0o644, mf.WriteJSON); err != nil {
					return err
				}
				what := ""
				if mf.Shard != nil {
					what = fmt.Sprintf(" (shard %s: a partial manifest, for verify --merge)", mf.Shard.Spec())
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "recorded %d files and %d tensors in %s%s\n", len(mf.Files), len(mf.Tensors), record, what)
			}
			if !r.Pass {
				return &checkFailed{n: len(r.Findings)}
			}
			return cerr
		},
	}
	f := cmd.Flags()
	rf.add(cmd, verify.Formats.Names())
	f.IntVar(&jobs, "jobs", runtime.NumCPU(), "files read at once")
	f.StringVar(&record, "record", "", "write a manifest of the files' and tensors' digests to FILE (replaced atomically); with --merge, the merged manifest")
	f.StringVar(&manifest, "manifest", "", "compare with a manifest written earlier by --record")
	f.StringVar(&builtin, "builtin", "", "verify a built-in layout (its data reads as zeros)")
	f.StringVar(&shard, "shard", "", "verify only part I of N of the files (I/N, 1 <= I <= N)")
	f.BoolVar(&merge, "merge", false, "merge the partial manifests given as arguments (written with --shard and --record)")
	f.BoolVar(&requireDigests, "require-digests", false, "fail on any file that has no reference digest (published, or in --manifest) to compare with")
	f.BoolVar(&cache, "cache", false, "store what is read: a Hub source's files in the Hugging Face cache, a registry's raw layers in the blob store")
	return cmd
}

// mergeShards merges the partial manifests at paths into one, written to
// record (atomically) or to stdout.
func mergeShards(cmd *cobra.Command, paths []string, record string) error {
	parts := make([]*verify.Manifest, len(paths))
	for i, p := range paths {
		data, err := readSmall(p, verify.MaxManifestBytes)
		if err != nil {
			return err
		}
		if parts[i], err = verify.ParseManifest(data); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	m, err := verify.MergeManifests(parts, paths)
	if err != nil {
		return err
	}
	if record == "" {
		return m.WriteJSON(cmd.OutOrStdout())
	}
	if err := atomicfile.WriteTarget(record, 0o644, m.WriteJSON); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "merged %d shard manifests: %d files and %d tensors in %s\n", len(parts), len(m.Files), len(m.Tensors), record)
	return nil
}

// isRegistrySpec reports whether the SOURCE spec names an OCI or Ollama
// registry artifact.
func isRegistrySpec(spec string) bool {
	return strings.HasPrefix(spec, "oci://") || strings.HasPrefix(spec, "ollama://")
}

// newVerifyCache prepares --cache for src: the cache the source mirrors
// its files into (the Hugging Face cache for a Hub source, the blob store
// for a registry source; see hub.Mirror), or nil, with a note on stderr,
// when there is nothing to store.
func newVerifyCache(cmd *cobra.Command, src hub.Source) (*mirrorCache, error) {
	m, ok := src.(hub.Mirror)
	if !ok {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: --cache does nothing for %s: its files are local already\n", src)
		return nil, nil
	}
	w, err := m.Mirror(nil)
	var nm *hub.NotMirroredError
	switch {
	case errors.As(err, &nm) && nm.Local:
		fmt.Fprintf(cmd.ErrOrStderr(), "note: --cache does nothing for %s: %s\n", src, nm.Reason)
		return nil, nil
	case errors.As(err, &nm):
		fmt.Fprintf(cmd.ErrOrStderr(), "note: --cache: %s\n", nm.Reason)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("--cache: %w", err)
	}
	return &mirrorCache{w: w, skipped: map[string]bool{}}, nil
}

// mirrorCache is what verify --cache stores the files it reads in: the
// cache the source mirrors them into.
type mirrorCache struct {
	w hub.MirrorWriter

	mu      sync.Mutex
	skipped map[string]bool // files the cache does not hold by design
}

// create is the VerifyOptions.Copy callback.
func (c *mirrorCache) create(name string, size int64) (verify.FileCopy, error) {
	f, err := c.w.Create(name, size)
	var nm *hub.NotMirroredError
	if errors.As(err, &nm) {
		c.mu.Lock()
		c.skipped[name] = true
		c.mu.Unlock()
	}
	if err != nil || f == nil {
		return nil, err // not a typed nil in the interface
	}
	return f, nil
}

// finish ends the run and says what was stored; it returns an error
// naming the files that could not be stored (those the cache does not
// hold by design are no failure).
func (c *mirrorCache) finish(cmd *cobra.Command, r *verify.Report) error {
	ferr := c.w.Finish()
	if r == nil {
		return ferr
	}
	line, err := c.w.Summary(tallyCopies(r, c.skipped))
	fmt.Fprintln(cmd.ErrOrStderr(), line)
	if err != nil {
		return fmt.Errorf("--cache: %w", err)
	}
	return ferr
}

// tallyCopies counts the files of r that --cache stored, found there
// already, and skipped (not stored, as the cache does not hold them), and
// lists the others not stored with why.
func tallyCopies(r *verify.Report, skipped map[string]bool) hub.MirrorTally {
	var t hub.MirrorTally
	for _, f := range r.Files {
		switch {
		case f.Copy == verify.CopyStored:
			t.Stored++
		case f.Copy == verify.CopyPresent:
			t.Present++
		case f.Copy == verify.CopyNotStored && skipped[f.Name]:
			t.Skipped++
		case f.Copy == verify.CopyNotStored:
			t.Failed = append(t.Failed, f.Name+": "+f.CopyError)
		}
	}
	return t
}

// readManifestFile reads a manifest file, refusing other files.
func readManifestFile(path string) (*verify.Manifest, error) {
	data, err := readSmall(path, verify.MaxManifestBytes)
	if err != nil {
		return nil, err
	}
	m, err := verify.ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Shard != nil {
		return nil, fmt.Errorf("%s: shard %s of %s: %w", path, m.Shard.Spec(), m.Source, verify.ErrPartialManifest)
	}
	return m, nil
}

// readSmall reads a local file of at most limit bytes.
func readSmall(path string, limit int64) ([]byte, error) {
	f, _, err := safefs.Open(path) // a regular file, never a FIFO
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: over %d bytes, too large for a manifest", path, limit)
	}
	return data, nil
}

// expectedDigests returns the sha256 the source publishes for each file
// of the checkpoint (a Hub repository's LFS digests, an OCI artifact's
// layer digests; see hub.Digester), where they come from, and notes on the
// files that have none (the files inside uncompressed tar layers of an OCI
// artifact, read in place; audit.Verify notes those of the layers it
// streams itself).
func expectedDigests(src hub.Source, ck *checkpoint.Checkpoint) (map[string]string, string, map[string]string) {
	d, ok := src.(hub.Digester)
	if !ok {
		return nil, "", nil
	}
	out, notes := map[string]string{}, map[string]string{}
	streamed, _ := src.(hub.LayerStreamer)
	for _, f := range verify.ShardFiles(ck, verify.ShardSpec{}) {
		n := f.Name
		if sum, ok := d.Digest(n); ok {
			out[n] = sum
			continue
		}
		if streamed != nil {
			if _, ok := streamed.StreamedLayer(n); ok {
				continue // audit.Verify checks the layer's digest and says so
			}
		}
		if note := d.DigestNote(n); note != "" {
			notes[n] = note
		}
	}
	return out, d.DigestSource(), notes
}

// expectedSHA512 returns the SHA-512 digests the source publishes for the
// checkpoint's files (an OCI raw layer with a sha512: digest; see
// hub.AlgorithmDigester), nil for other sources.
func expectedSHA512(src hub.Source, ck *checkpoint.Checkpoint) map[string]string {
	a, ok := src.(hub.AlgorithmDigester)
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, f := range verify.ShardFiles(ck, verify.ShardSpec{}) {
		if algo, sum, ok := a.AlgorithmDigest(f.Name); ok && algo == "sha512" {
			out[f.Name] = sum
		}
	}
	return out
}

// expectedGitBlobs returns the Git blob ids the source lists for the
// checkpoint's files (a Hub repository's files not stored with LFS:
// config.json, the index; see hub.GitBlobber), nil for other sources.
func expectedGitBlobs(src hub.Source, ck *checkpoint.Checkpoint) map[string]string {
	b, ok := src.(hub.GitBlobber)
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, f := range verify.ShardFiles(ck, verify.ShardSpec{}) {
		if id, ok := b.BlobID(f.Name); ok {
			out[f.Name] = id
		}
	}
	return out
}

// shardFromJob returns the --shard value a Kubernetes Indexed Job asks
// for: part JOB_COMPLETION_INDEX+1 of JOB_COMPLETION_COUNT (Kubernetes
// sets the 0-based index in every pod of an Indexed Job; the count is
// the Job's completions, which the manifest passes in the environment).
// It returns "" when JOB_COMPLETION_INDEX is not set, and an error when
// the index is set without a count or either is not a whole number.
func shardFromJob(getenv func(string) string) (string, error) {
	is, ns := getenv("JOB_COMPLETION_INDEX"), getenv("JOB_COMPLETION_COUNT")
	if is == "" {
		return "", nil
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 {
		return "", fmt.Errorf("JOB_COMPLETION_INDEX=%q: want a whole number from 0", is)
	}
	if ns == "" {
		return "", fmt.Errorf("JOB_COMPLETION_INDEX=%s is set but JOB_COMPLETION_COUNT is not: set it to the Job's completions, or give --shard I/N", is)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 || i >= n {
		return "", fmt.Errorf("JOB_COMPLETION_COUNT=%q: want a whole number above JOB_COMPLETION_INDEX=%d", ns, i)
	}
	return fmt.Sprintf("%d/%d", i+1, n), nil
}
