// Package arch is what the audit knows of model architectures: the [Spec]
// interface every family implements, the components and roles of a
// decoder's tensors, and the registry that finds a checkpoint's family
// from its config.json model_type or GGUF general.architecture.
//
// A Spec gives plain dimensions ([Dims]), the expected tensors of each
// format, and the parameter prediction. Everything else is an optional
// capability, asserted by the checks: [Assigner] (fast role lookup),
// [Coster] (KV cache and attention FLOPs), [BlockWalker] (the block shape
// walk), [Forwarder] (the spot-check's wiring), [Contract] (obligation
// ids), [Recognizer] (published profiles), [ConfigComparer] (config.json
// against GGUF metadata), [ConfigChecker] (values the model cannot run
// with, reported without stopping the count) and [GGUFWriter] (metadata
// for synthesized layouts). A check whose capability a spec lacks is
// reported as not applicable: no family is answered with another's
// numbers.
//
// A config.json is read as Python's json and transformers read it, with
// [DecodeConfig]: keys match exactly, a key given twice keeps its last
// value and is reported ([FromCheckpoint] returns it as a [Conflict]).
//
// # Adding a family
//
//  1. Make a folder arch/<family> holding everything the family knows,
//     each fact cited to its primary source (transformers'
//     configuration_*.py and modeling_*.py, llama.cpp's gguf-py constants
//     and converter, the model cards): the config struct, its parsing and
//     validation (decoded with [DecodeConfig]; errors wrap [ErrConfig]
//     and name the key; values that do not prevent counting are
//     [ConfigChecker] problems instead); one table of tensor names
//     (Hugging Face and GGUF) and shapes that both lists the expected
//     tensors and locates a stored one; the GGUF metadata keys in
//     one table read by FromGGUF and written by [GGUFWriter]; the
//     parameter prediction worked from the dimensions; the capabilities it
//     can give; profiles of published models.
//     Components arch does not list (an MLA projection, attention sinks)
//     are defined in the folder with [DefineComponent].
//     The facts stay in the folder; the machinery that is the same for
//     every family is here, as plain functions over the family's own
//     tables: the spec embeds a [Core] (its family name, config and
//     tensor tables, and the [GGUFSource] that [Keep] records), which
//     gives it Family, Config, Expected, Locate, Count and Assign from
//     a [TableSpec] per format (slots declared for both formats with
//     [Both] and [SlotsIn], the embedding, final norm and lm_head with
//     [Ends]); [GGUFKeys] reads and writes the metadata keys, [CheckDims]
//     and [ConfigProblems] validate and report the config, [Fields],
//     [Published], [Recognize] (or [MatchProfiles]) and [CompareConfig]
//     recognize published models and compare config.json with GGUF
//     metadata, [NewPrediction] adds up the counts, and [Walk]'s Norm,
//     Attention, MLP and Experts walk the usual block. A family that
//     numbers its table by hand has [CutIndex], [Role.Fill],
//     [Expected.At] and [ShapeIn]. The spec
//     asserts [Complete] (and [Forwarder], when it has one) at compile
//     time. Its tests share arch/archtest: edited specs, synthesis in
//     either format, the table and prediction checks.
//  2. Register it from the package's init with [Register]: its name, the
//     model_type values, the GGUF architecture, the two constructors
//     ([FromConfigFunc], [FromGGUFFunc]) and a small example model.
//  3. Add one import line to arch/all.
//
// The conformance test in package audit (TestEveryFamilyGoesThroughTheSameChecks)
// synthesizes every registered family's example in both formats and runs
// it through the same checks, clean and with a tensor missing; arch/qwen3
// is the worked example.
package arch
