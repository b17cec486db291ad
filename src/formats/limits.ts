// Caps applied before any allocation driven by a file's own numbers. A file that exceeds one is refused with a
// message naming the cap, so a hostile or corrupt header cannot make us allocate gigabytes.

/** The safetensors spec limits the JSON header to 100 MB. */
export const MAX_HEADER_BYTES = 100_000_000;
/** Far above any real checkpoint (a 405B model has ~2 000 tensors per shard, ~200 000 in GGUF MoE files). */
export const MAX_TENSORS = 2_000_000;
export const MAX_DIMS = 16;
export const MAX_TENSOR_NAME_BYTES = 4096;
/** Index files (`model.safetensors.index.json`) and config.json files are small JSON documents. */
export const MAX_JSON_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_SHARDS = 100_000;
