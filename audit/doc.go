// Package audit checks a checkpoint against what its architecture
// predicts and reports the verdict.
//
// The data flows one way: a [hub.Source] gives files, [checkpoint.Load]
// parses every header into a checkpoint and its inventory, the
// architecture's spec predicts the tensors and counts, [Run] runs the
// checks and builds a [Report], and the report's Write methods render it.
package audit
