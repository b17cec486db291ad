// Caps for the PyTorch reader, checked before anything a file declares is allocated or walked. Each one is far
// above what torch.save writes for real checkpoints (a 405B state_dict pickles to well under 1 MB), so hitting
// one means a damaged or hostile file; the message names the cap.

/** The zip's End of Central Directory is searched for in this many trailing bytes (max comment + record). */
export const EOCD_SEARCH_BYTES = 65_535 + 22;
/**
 * One zip entry per storage (at most one per tensor: MAX_TENSORS, 200 000) plus bookkeeping and, in TorchScript
 * archives, code files. Each entry costs ~340 B while the directory is read (measured: 500 000 empty entries,
 * inspect 4 s, 225 MB peak RSS), so the former 2 100 000 let a zip of empty entries cost ~1 GB.
 */
export const MAX_ZIP_ENTRIES = 300_000;
export const MAX_CENTRAL_DIRECTORY_BYTES = 256 * 1024 * 1024;
/** data.pkl (and each pickle of the legacy format) is read whole; nothing bigger is read or inflated. */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;
/** Every opcode takes at least one byte, so this bounds work even for pickles that loop through the memo. */
export const MAX_PICKLE_OPS = 32_000_000;
export const MAX_PICKLE_STACK = 4_000_000;
/** Open MARKs at once: nesting depth of tuples/lists/dicts built from marks. */
export const MAX_PICKLE_MARKS = 100_000;
/**
 * Memo entries. torch.save writes ~8 per tensor for a state_dict and ~17 for a whole pickled module (counted with
 * pickletools on torch 2.x files), so 2 000 000 covers a state_dict at the tensor cap (MAX_TENSORS, 200 000) and a
 * pickled module of 100 000 tensors; a MEMOIZE flood (one byte per entry) is refused after 2 M entries.
 */
export const MAX_PICKLE_MEMO = 2_000_000;
export const MAX_CONTAINER_ITEMS = 4_000_000;
/** Python ints wider than this (LONG4) are refused; shapes and offsets fit in 8 bytes. */
export const MAX_LONG_BYTES = 4096;
/** Text opcodes of protocols 0/1 end at a newline; a line longer than this is refused. */
export const MAX_PICKLE_LINE_BYTES = 1024 * 1024;
/** The tensor search descends at most this deep into nested containers. */
export const MAX_NESTING_DEPTH = 64;
/**
 * Objects visited while searching for tensors: shared references (the memo) make a pickle of a few hundred bytes
 * a tree of 2^40 paths. A state_dict costs ~2 visits per tensor, a pickled module ~6, so 10 per tensor at the
 * tensor cap (200 000); past it the file is refused. (10 000 000 visits of such a DAG took 15 s and 1.1 GB.)
 */
export const MAX_VISITS = 2_000_000;
/** Legacy format: the pickles before the storages are read in windows that grow up to MAX_PICKLE_BYTES. */
export const LEGACY_FIRST_WINDOW_BYTES = 1024 * 1024;
