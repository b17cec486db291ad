// Caps specific to ONNX, applied before any allocation or work driven by the file's own numbers. The shared caps
// (MAX_TENSORS, MAX_DIMS, MAX_TENSOR_NAME_BYTES) live in ../limits.ts and apply here too.

/** Subgraphs (If/Loop/Scan bodies) nest; real models nest a handful of levels, a hostile file could nest thousands. */
export const MAX_GRAPH_DEPTH = 32;
/** Nodes over all graphs. Large exported LLMs have ~10^5; the cap bounds the time a corrupt file can cost. */
export const MAX_NODES = 5_000_000;
/** Graph input/output names listed in the metadata; the rest are counted. */
export const MAX_GRAPH_IO_LISTED = 1000;
/** Inputs of one node (Concat/Sum of every layer's output reach a few hundred; variadic ops have no real limit). */
export const MAX_NODE_INPUTS = 100_000;
/** Uses of one tensor kept to tell a weight from a graph constant; a shared constant may feed thousands of nodes. */
export const MAX_USES_PER_TENSOR = 16;
export const MAX_OPSET_IMPORTS = 1000;
export const MAX_METADATA_PROPS = 10_000;
/** metadata_props values longer than this are left out with a warning (some exporters embed whole configs). */
export const MAX_METADATA_VALUE_BYTES = 256 * 1024;
/** external_data key/value pairs per tensor (the spec knows four keys). */
export const MAX_EXTERNAL_DATA_ENTRIES = 64;
export const MAX_EXTERNAL_VALUE_BYTES = 4096;
/** Distinct external data files one model may refer to. */
export const MAX_EXTERNAL_FILES = 100_000;
/** Read window: reads start small after every seek (a tensor's header is a few bytes) and double while the walk
 *  stays sequential, so a model with inline weights costs a few KiB per tensor, not a whole window per tensor. */
export const MIN_READ_CHUNK_BYTES = 4096;
export const MAX_WINDOW_BYTES = 1024 * 1024;
/** Names quoted in one aggregated warning. */
export const MAX_NAMES_IN_WARNING = 5;
