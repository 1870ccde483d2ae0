// Package verify answers "is my download complete and uncorrupted?": it
// reads every byte of a checkpoint's files once, checks each file's sha256
// against the digest its source publishes (Hub LFS sha256, OCI layer
// digests, Git blob ids) or a recorded [Manifest], and scans every tensor's
// data for NaN, Inf, all-zero tensors and zero-filled runs, in every
// encoding the formats define.
//
// Files are read concurrently with large sequential reads and bounded
// buffers; a verify can be split by file across jobs ([ShardSpec]) and the
// parts merged ([MergeManifests]); two manifests compare with [Diff]. It
// knows no architecture.
package verify
