// Package audit checks a checkpoint against what its architecture
// predicts and reports the verdict.
//
// The data flows one way: a [hub.Source] gives files, [checkpoint.Load]
// parses every header into a checkpoint and its inventory, the
// architecture's spec (package arch) predicts the tensors and counts, [Run]
// runs the rows of the check table and builds a [Report], and a row of
// [Formats] renders it. The checks see only the spec and its capabilities:
// a check whose capability the family lacks is reported as not applicable.
//
// A memory plan ([cost.Plan], the plan command's report) is rendered by a
// row of [PlanFormats], its HTML page drawn with the audit's memory chart
// levels ([WritePlanHTML]).
package audit
