// Caps for the PyTorch reader, checked before anything a file declares is allocated or walked. Each one is far
// above what torch.save writes for real checkpoints (a 405B state_dict pickles to well under 1 MB), so hitting
// one means a damaged or hostile file; the message names the cap.

/** The zip's End of Central Directory is searched for in this many trailing bytes (max comment + record). */
export const EOCD_SEARCH_BYTES = 65_535 + 22;
/** One zip entry per storage plus a handful of bookkeeping entries. */
export const MAX_ZIP_ENTRIES = 2_100_000;
export const MAX_CENTRAL_DIRECTORY_BYTES = 256 * 1024 * 1024;
/** data.pkl (and each pickle of the legacy format) is read whole; nothing bigger is read or inflated. */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;
/** Every opcode takes at least one byte, so this bounds work even for pickles that loop through the memo. */
export const MAX_PICKLE_OPS = 32_000_000;
export const MAX_PICKLE_STACK = 4_000_000;
/** Open MARKs at once: nesting depth of tuples/lists/dicts built from marks. */
export const MAX_PICKLE_MARKS = 100_000;
export const MAX_PICKLE_MEMO = 8_000_000;
export const MAX_CONTAINER_ITEMS = 4_000_000;
/** Python ints wider than this (LONG4) are refused; shapes and offsets fit in 8 bytes. */
export const MAX_LONG_BYTES = 4096;
/** Text opcodes of protocols 0/1 end at a newline; a line longer than this is refused. */
export const MAX_PICKLE_LINE_BYTES = 1024 * 1024;
/** The tensor search descends at most this deep into nested containers. */
export const MAX_NESTING_DEPTH = 64;
/** Objects visited while searching for tensors (shared references can make a small pickle a huge tree). */
export const MAX_VISITS = 10_000_000;
/** Legacy format: the pickles before the storages are read in windows that grow up to MAX_PICKLE_BYTES. */
export const LEGACY_FIRST_WINDOW_BYTES = 1024 * 1024;
