// Package audit turns the files of a checkpoint into an inventory and checks
// it against what the architecture predicts.
//
// The data flows one way: a [hub.Source] gives files, [Load] parses every
// header (concurrently, never reading tensor data) into a [Checkpoint],
// [Checkpoint.Inventory] lists every tensor with its shape, type, size,
// place and layer, and the tallies sum it up per layer, per dtype and in
// total. Architecture specs such as [Config] predict the tensors a
// checkpoint must hold.
package audit
