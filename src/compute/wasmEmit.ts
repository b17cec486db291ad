// A few WebAssembly binary encoders: just enough to write one module of SIMD kernels from TypeScript, the way
// onnxGraph.ts writes ONNX graphs, so the kernel's source is in the repository and no C toolchain is needed to
// build it (none is installed on the machines that build this project; docs/benchmarks.md).

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** Core opcodes used by the kernels. */
export const op = {
  block: [0x02, 0x40], loop: [0x03, 0x40], if: [0x04, 0x40], else: [0x05], end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)], brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (i: number) => [0x20, ...uleb(i)], set: (i: number) => [0x21, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n)], i32Add: [0x6a], i32Sub: [0x6b], i32Mul: [0x6c], i32Shl: [0x74], i32Eqz: [0x45], i32LtU: [0x49],
  f32Add: [0x92],
  /** i32.store (align 4) at the address on the stack + `offset`. */
  i32Store: (offset = 0) => [0x36, 2, ...uleb(offset)],
};

/** SIMD opcodes (0xfd prefix) used by the kernels. */
const simd = (code: number, ...immediate: number[]) => [0xfd, ...uleb(code), ...immediate];
export const v = {
  load: (offset = 0) => simd(0x00, 4, ...uleb(offset)),
  store: (offset = 0) => simd(0x0b, 4, ...uleb(offset)),
  zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  /** v128.const of four equal i32 lanes. */
  i32x4: (n: number) => simd(0x0c, ...[0, 1, 2, 3].flatMap(() => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff])),
  shuffle: (lanes: number[]) => simd(0x0d, ...lanes),
  f32Splat: simd(0x13), f32Lane: (lane: number) => simd(0x1f, lane),
  f32Eq: simd(0x41), f32Gt: simd(0x44),
  and: simd(0x4e), andnot: simd(0x4f), or: simd(0x50), anyTrue: simd(0x53),
  f64PromoteLow: simd(0x5f),
  i32ExtendLowU16: simd(0xa9), i32ExtendHighU16: simd(0xaa),
  i32AllTrue: simd(0xa3), i32Shl: simd(0xab), i32Add: simd(0xae), i32Sub: simd(0xb1),
  f32Abs: simd(0xe0), f32Add: simd(0xe4), f32Sub: simd(0xe5), f32Mul: simd(0xe6), f32Max: simd(0xe9),
  /** Pseudo-maximum (b < a ? a : b): one maxps, where f32x4.max's NaN and ±0 rules cost several instructions. */
  f32Pmax: simd(0xeb),
  f64Add: simd(0xf0),
};

/** Instruction bytes, nested as written. */
export type Code = number | readonly Code[];

export function flatten(code: Code, out: number[] = []): number[] {
  if (typeof code === 'number') out.push(code);
  else for (const c of code) flatten(c, out);
  return out;
}

export interface WasmFunction {
  name: string;
  params: number[];
  /** Types of the locals after the parameters. */
  locals: number[];
  body: Code;
}

/** A module with one memory of `pages` 64 KiB pages, exported as `memory`, and the functions (no results). */
/** The slice of the WebAssembly API used here (the project compiles without the DOM library, which declares it). */
export interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { exports: Record<string, unknown> };
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export function wasmModule(pages: number, functions: WasmFunction[]): Uint8Array {
  const types = section(1, vector(functions.map((f) => [0x60, ...vector(f.params.map((p) => [p])), 0])));
  const funcs = section(3, vector(functions.map((_, i) => uleb(i))));
  const memory = section(5, vector([[0x00, ...uleb(pages)]]));
  const exported = section(7, vector([
    [...name('memory'), 0x02, 0],
    ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]),
  ]));
  const code = section(10, vector(functions.map((f) => {
    const locals = vector(f.locals.map((t) => [1, t]));
    const body = [...locals, ...flatten(f.body), ...op.end];
    return [...uleb(body.length), ...body];
  })));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...funcs, ...memory, ...exported, ...code]);
}
