// A restricted pickle machine (protocols 0-5). It executes nothing: GLOBAL yields whatever the host says a name
// is (an inert record for anything it does not model), and REDUCE / NEWOBJ / BUILD / persistent ids are handed to
// the host, which builds symbolic values. Every length is checked against the bytes left before it is used, and
// the op count, stack, marks, memo and containers are capped (caps.ts).
import { InputError } from '../../errors';
import { MAX_CONTAINER_ITEMS, MAX_LONG_BYTES, MAX_PICKLE_MARKS, MAX_PICKLE_MEMO, MAX_PICKLE_OPS, MAX_PICKLE_STACK } from './caps';
import { OP } from './opcodes';
import { PickleCursor, TruncatedPickleError } from './pickleCursor';
import { decodeLongLE, decodeRawUnicodeEscape, parseTextInt, unquotePython } from './pickleText';
import { describe, dictSet, newDict, PickleError, type PyValue } from './pyvalue';

/** What the unpickler asks of the code that gives meaning to globals and calls. */
export interface UnpickleHost {
  findClass(module: string, name: string): PyValue;
  /** copyreg extension codes (EXT1/2/4) name globals through a registry we do not have. */
  extension(code: number): PyValue;
  call(callable: PyValue, args: PyValue[]): PyValue;
  newObject(cls: PyValue, args: PyValue[]): PyValue;
  build(target: PyValue, state: PyValue): void;
  persistentLoad(pid: PyValue): PyValue;
}

export interface UnpickleResult {
  value: PyValue;
  /** Offset just past the STOP opcode. */
  end: number;
}

export { TruncatedPickleError };

export function unpickle(data: Buffer, start: number, host: UnpickleHost, where: string): UnpickleResult {
  return new Machine(data, start, host, where).run();
}

class Machine {
  private readonly in: PickleCursor;
  private stack: PyValue[] = [];
  private marks: number[] = [];
  /** The memo: pickles number it 0, 1, 2, ... (MEMOIZE always does), so a dense array; other indices in a Map. */
  private memo: PyValue[] = [];
  private sparseMemo = new Map<number, PyValue>();

  constructor(data: Buffer, start: number, private readonly host: UnpickleHost, private readonly where: string) {
    this.in = new PickleCursor(data, start, where);
  }

  run(): UnpickleResult {
    for (let ops = 0; ; ops++) {
      if (ops >= MAX_PICKLE_OPS) throw this.error(`more than ${MAX_PICKLE_OPS} opcodes; refused`);
      if (this.in.atEnd()) throw new TruncatedPickleError(`${this.where}: the pickle ends at byte ${this.in.pos} without a STOP opcode`);
      this.in.opStart = this.in.pos;
      const op = this.in.u8();
      try {
        if (op === OP.STOP) {
          if (this.stack.length === 0) throw new PickleError('STOP with an empty stack');
          return { value: this.stack[this.stack.length - 1]!, end: this.in.pos };
        }
        this.step(op);
      } catch (error) {
        if (error instanceof PickleError) throw this.error(error.message);
        throw error;
      }
      if (this.stack.length > MAX_PICKLE_STACK) throw this.error(`the stack grew past ${MAX_PICKLE_STACK} items; refused`);
    }
  }

  private step(op: number): void {
    switch (op) {
      case OP.PROTO: {
        const version = this.in.u8();
        if (version > 5) throw new PickleError(`unsupported pickle protocol ${version}`);
        return;
      }
      case OP.FRAME: this.in.length(8, 'frame'); return; // frames only group opcodes; the bytes follow inline
      case OP.MARK:
        if (this.marks.length >= MAX_PICKLE_MARKS) throw new PickleError(`more than ${MAX_PICKLE_MARKS} nested MARKs; refused`);
        this.marks.push(this.stack.length);
        return;
      case OP.POP:
        if (this.marks.length > 0 && this.marks[this.marks.length - 1] === this.stack.length) this.marks.pop();
        else this.pop();
        return;
      case OP.POP_MARK: this.popMark(); return;
      case OP.DUP: this.push(this.top()); return;
      case OP.NONE: this.push(null); return;
      case OP.NEWTRUE: this.push(true); return;
      case OP.NEWFALSE: this.push(false); return;
      case OP.BININT: this.push(BigInt(this.in.i32())); return;
      case OP.BININT1: this.push(BigInt(this.in.u8())); return;
      case OP.BININT2: this.push(BigInt(this.in.u16())); return;
      case OP.LONG1: this.push(decodeLongLE(this.in.take(this.in.u8()))); return;
      case OP.LONG4: {
        const n = this.in.i32();
        if (n < 0 || n > MAX_LONG_BYTES) throw new PickleError(`LONG4 of ${n} bytes (more than ${MAX_LONG_BYTES} are refused)`);
        this.push(decodeLongLE(this.in.take(n)));
        return;
      }
      case OP.BINFLOAT: this.push(this.in.take(8).readDoubleBE(0)); return;
      case OP.INT: this.push(parseTextInt(this.in.line(), true)); return;
      case OP.LONG: this.push(parseTextInt(this.in.line(), false)); return;
      case OP.FLOAT: {
        const text = this.in.line().toString('latin1');
        const value = Number(text);
        if (text.trim() === '' || (Number.isNaN(value) && !/nan/i.test(text))) throw new PickleError(`FLOAT ${JSON.stringify(text)} is not a number`);
        this.push(value);
        return;
      }
      case OP.BINUNICODE: this.push(this.in.take(this.in.length(4, 'string')).toString('utf8')); return;
      case OP.SHORT_BINUNICODE: this.push(this.in.take(this.in.u8()).toString('utf8')); return;
      case OP.BINUNICODE8: this.push(this.in.take(this.in.length(8, 'string')).toString('utf8')); return;
      case OP.UNICODE: this.push(decodeRawUnicodeEscape(this.in.line().toString('latin1'))); return;
      // Python 2 str: torch's unpickler decodes it as text, so do we (latin1 keeps every byte).
      case OP.BINSTRING: this.push(this.in.take(this.in.length(4, 'string')).toString('latin1')); return;
      case OP.SHORT_BINSTRING: this.push(this.in.take(this.in.u8()).toString('latin1')); return;
      case OP.STRING: this.push(unquotePython(this.in.line().toString('latin1'))); return;
      case OP.BINBYTES: this.push({ kind: 'bytes', value: this.in.take(this.in.length(4, 'bytes')) }); return;
      case OP.SHORT_BINBYTES: this.push({ kind: 'bytes', value: this.in.take(this.in.u8()) }); return;
      case OP.BINBYTES8:
      case OP.BYTEARRAY8: this.push({ kind: 'bytes', value: this.in.take(this.in.length(8, 'bytes')) }); return;
      case OP.NEXT_BUFFER: throw new PickleError('NEXT_BUFFER needs out-of-band buffers, which a checkpoint file cannot carry');
      case OP.READONLY_BUFFER: return;
      case OP.EMPTY_TUPLE: this.push({ kind: 'tuple', items: [] }); return;
      case OP.TUPLE1: this.push({ kind: 'tuple', items: this.popN(1) }); return;
      case OP.TUPLE2: this.push({ kind: 'tuple', items: this.popN(2) }); return;
      case OP.TUPLE3: this.push({ kind: 'tuple', items: this.popN(3) }); return;
      case OP.TUPLE: this.push({ kind: 'tuple', items: this.popMark() }); return;
      case OP.EMPTY_LIST: this.push({ kind: 'list', items: [] }); return;
      case OP.LIST: this.push({ kind: 'list', items: this.popMark() }); return;
      case OP.EMPTY_DICT: this.push(newDict()); return;
      case OP.DICT: {
        const dict = newDict();
        this.push(dict);
        this.setItems(dict, this.popMarkBelowTop());
        return;
      }
      case OP.EMPTY_SET: this.push({ kind: 'set', items: [] }); return;
      case OP.FROZENSET: this.push({ kind: 'set', items: this.popMark() }); return;
      case OP.APPEND: this.extend([this.pop()]); return;
      case OP.APPENDS: this.extend(this.popMark()); return;
      case OP.ADDITEMS: this.extend(this.popMark()); return;
      case OP.SETITEM: {
        const value = this.pop();
        const key = this.pop();
        this.setItems(this.top(), [key, value]);
        return;
      }
      case OP.SETITEMS: {
        const items = this.popMark();
        this.setItems(this.top(), items);
        return;
      }
      case OP.BINPUT: this.put(this.in.u8()); return;
      case OP.LONG_BINPUT: this.put(this.in.u32()); return;
      case OP.PUT: this.put(this.in.textIndex()); return;
      case OP.MEMOIZE: this.put(this.memo.length + this.sparseMemo.size); return;
      case OP.BINGET: this.push(this.get(this.in.u8())); return;
      case OP.LONG_BINGET: this.push(this.get(this.in.u32())); return;
      case OP.GET: this.push(this.get(this.in.textIndex())); return;
      case OP.GLOBAL: {
        const module = this.in.line().toString('utf8');
        this.push(this.host.findClass(module, this.in.line().toString('utf8')));
        return;
      }
      case OP.STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw new PickleError(`STACK_GLOBAL wants two strings, got ${describe(module)} and ${describe(name)}`);
        }
        this.push(this.host.findClass(module, name));
        return;
      }
      case OP.EXT1: this.push(this.host.extension(this.in.u8())); return;
      case OP.EXT2: this.push(this.host.extension(this.in.u16())); return;
      case OP.EXT4: this.push(this.host.extension(this.in.i32())); return;
      case OP.REDUCE: {
        const args = this.pop();
        const callable = this.pop();
        this.push(this.host.call(callable, tupleItems(args, 'REDUCE arguments')));
        return;
      }
      case OP.NEWOBJ: {
        const args = this.pop();
        const cls = this.pop();
        this.push(this.host.newObject(cls, tupleItems(args, 'NEWOBJ arguments')));
        return;
      }
      case OP.NEWOBJ_EX: {
        this.pop(); // keyword arguments: nothing we model takes any
        const args = this.pop();
        const cls = this.pop();
        this.push(this.host.newObject(cls, tupleItems(args, 'NEWOBJ_EX arguments')));
        return;
      }
      case OP.INST: {
        const module = this.in.line().toString('utf8');
        const cls = this.host.findClass(module, this.in.line().toString('utf8'));
        this.push(this.host.newObject(cls, this.popMark()));
        return;
      }
      case OP.OBJ: {
        const items = this.popMark();
        if (items.length === 0) throw new PickleError('OBJ without a class');
        this.push(this.host.newObject(items[0]!, items.slice(1)));
        return;
      }
      case OP.BUILD: {
        const state = this.pop();
        this.host.build(this.top(), state);
        return;
      }
      case OP.BINPERSID: this.push(this.host.persistentLoad(this.pop())); return;
      case OP.PERSID: this.push(this.host.persistentLoad(this.in.line().toString('latin1'))); return;
      default:
        throw new PickleError(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }

  private error(message: string): InputError {
    return new InputError(`${this.where} at byte ${this.in.opStart}: ${message}`);
  }

  private push(value: PyValue): void {
    this.stack.push(value);
  }

  private pop(): PyValue {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= floor) throw new PickleError('pop from an empty stack (or past a MARK)');
    return this.stack.pop()!;
  }

  private top(): PyValue {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1]! : 0;
    if (this.stack.length <= floor) throw new PickleError('the stack is empty where a value is needed');
    return this.stack[this.stack.length - 1]!;
  }

  private popN(n: number): PyValue[] {
    const items: PyValue[] = [];
    for (let i = 0; i < n; i++) items.unshift(this.pop());
    return items;
  }

  private popMark(): PyValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) throw new PickleError('an opcode needs a MARK but none is open');
    if (this.stack.length - mark > MAX_CONTAINER_ITEMS) throw new PickleError(`more than ${MAX_CONTAINER_ITEMS} items after a MARK; refused`);
    return this.stack.splice(mark);
  }

  /** DICT: the items above the mark, with the new dict (pushed just before) left on the stack. */
  private popMarkBelowTop(): PyValue[] {
    const dict = this.stack.pop()!;
    const items = this.popMark();
    this.stack.push(dict);
    return items;
  }

  private extend(items: PyValue[]): void {
    const target = this.top();
    if (target === null || typeof target !== 'object') throw new PickleError(`cannot append to ${describe(target)}`);
    if (target.kind === 'list' || target.kind === 'set') {
      if (target.items.length + items.length > MAX_CONTAINER_ITEMS) throw new PickleError(`a ${target.kind} grew past ${MAX_CONTAINER_ITEMS} items; refused`);
      for (const item of items) target.items.push(item);
      return;
    }
    // An inert object would have run its own append/extend in Python; there is nothing to model.
    if (target.kind === 'object') return;
    throw new PickleError(`cannot append to ${describe(target)}`);
  }

  private setItems(target: PyValue, items: PyValue[]): void {
    if (items.length % 2 !== 0) throw new PickleError(`SETITEMS with an odd number (${items.length}) of keys and values`);
    if (target !== null && typeof target === 'object' && target.kind === 'dict') {
      for (let i = 0; i < items.length; i += 2) {
        if (!dictSet(target, items[i]!, items[i + 1]!, MAX_CONTAINER_ITEMS)) throw new PickleError(`a dict grew past ${MAX_CONTAINER_ITEMS} items; refused`);
      }
      return;
    }
    if (target !== null && typeof target === 'object' && target.kind === 'object') return; // would call __setitem__
    throw new PickleError(`cannot set items on ${describe(target)}`);
  }

  private put(index: number): void {
    const value = this.top();
    if (index < this.memo.length) {
      this.memo[index] = value;
      return;
    }
    if (!this.sparseMemo.has(index) && this.memo.length + this.sparseMemo.size >= MAX_PICKLE_MEMO) {
      throw new PickleError(`the memo grew past ${MAX_PICKLE_MEMO} entries; refused`);
    }
    if (index === this.memo.length && !this.sparseMemo.has(index)) this.memo.push(value);
    else this.sparseMemo.set(index, value);
  }

  private get(index: number): PyValue {
    const value = index < this.memo.length ? this.memo[index] : this.sparseMemo.get(index);
    if (value === undefined) throw new PickleError(`memo entry ${index} is read before it is written`);
    return value;
  }
}

function tupleItems(value: PyValue, what: string): PyValue[] {
  if (value !== null && typeof value === 'object' && value.kind === 'tuple') return value.items;
  throw new PickleError(`${what} must be a tuple, got ${describe(value)}`);
}
