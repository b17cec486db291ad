// Caps applied before any allocation driven by a file's own numbers. A file that exceeds one is refused with a
// message naming the cap, so a hostile or corrupt header cannot make us allocate gigabytes.

/** The safetensors spec limits the JSON header to 100 MB. */
export const MAX_HEADER_BYTES = 100_000_000;
/**
 * Tensors in one file, and in all the files of one checkpoint together (shards, a directory's weight files). Real
 * files hold ~1 000-10 000 (a 405B model ~2 000 per shard); MoE models with a tensor per expert reach ~100 000
 * across their shards. Each tensor costs ~1.5-2.5 KB while a checkpoint is open and inspected (measured: 200 000
 * one-element safetensors tensors, inspect 300 MB peak RSS, --json 465 MB; 1 000 000 took 2 GB), so this cap keeps
 * a hostile header with a million tiny tensors to a few hundred MB instead of gigabytes.
 */
export const MAX_TENSORS = 200_000;
export const MAX_DIMS = 16;
export const MAX_TENSOR_NAME_BYTES = 4096;
/** Index files (`model.safetensors.index.json`) and config.json files are small JSON documents. */
export const MAX_JSON_FILE_BYTES = 64 * 1024 * 1024;
export const MAX_SHARDS = 100_000;
