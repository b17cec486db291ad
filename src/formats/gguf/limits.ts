// Caps for the GGUF reader, checked before any allocation or loop driven by a number the file declares. They sit
// here rather than in ../limits.ts only because that file is shared; each is far above what llama.cpp writes.

/** GGML_MAX_DIMS: ggml tensors have at most four dimensions, and GGUF stores no more. */
export const GGUF_MAX_DIMS = 4;
/** Key-value pairs in one file (real files carry 20-60). */
export const GGUF_MAX_KV_COUNT = 1_000_000;
/** Elements of one metadata array (the largest real vocabularies have ~260 000 tokens and as many merges). */
export const GGUF_MAX_ARRAY_LENGTH = 16_000_000;
/**
 * Elements of an array kept whole (the tokenizer's tokens, scores, types, merges: real vocabularies have up to
 * ~260 000 tokens). Checked before the elements are read: each kept element is an object in memory.
 */
export const GGUF_MAX_FULL_ARRAY_LENGTH = 2_000_000;
/** Arrays of arrays: gguf-py can write them, llama.cpp never does; a few levels are plenty. */
export const GGUF_MAX_ARRAY_DEPTH = 4;
/** One metadata string (chat templates are the longest, tens of kilobytes). */
export const GGUF_MAX_STRING_BYTES = 16 * 1024 * 1024;
/** Metadata keys are dotted identifiers like `llama.attention.head_count`. */
export const GGUF_MAX_KEY_BYTES = 4096;
/**
 * Everything before the tensor data: magic, counts, metadata, tensor infos. Real headers are a few megabytes (a
 * vocabulary of 260 000 tokens with scores and merges is ~20 MB); past this the file is refused rather than scanned.
 */
export const GGUF_MAX_HEADER_BYTES = 512 * 1024 * 1024;
/** The header is read in chunks of this size, so opening a 10 GB file reads only its first megabytes. */
export const GGUF_READ_CHUNK_BYTES = 1024 * 1024;
/** A rendered metadata string keeps this many bytes; the rest is summarised with its length. */
export const GGUF_MAX_RENDERED_STRING_BYTES = 64 * 1024;
/** Arrays up to this length are rendered in full ("[1, 2, 3]"); longer ones as "[array of N type]". */
export const GGUF_MAX_RENDERED_ITEMS = 16;
/** Numeric arrays up to this length keep their values (per-layer head counts), for the architecture summary. */
export const GGUF_MAX_KEPT_NUMERIC_ITEMS = 4096;
