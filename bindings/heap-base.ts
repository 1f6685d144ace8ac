// heap-base.ts — cHeapBase(): the __heap_base a wasm-ld-linked C module exports, read from its bytes
// without compiling or instantiating it.
//
// Owns: a small reader of the Wasm binary format: the header, section
// framing, the import section (to count imported globals, which come first in the global index space),
// the global section (each init expression evaluated as a constant expression: i32/i64/f32/f64/v128
// constants, global.get, ref.null, ref.func, the extended-const i32/i64 add/sub/mul, and the GC
// proposal's constant struct/array/i31 instructions), the export section and the data section's offsets.
// Entry points: cHeapBase and dataEnd (re-exported by bindings/index.ts).
// Invariants: reads never past the end of the buffer or of a section (a truncated or malformed module is
// an InvalidArgumentError, never a wrong number).
// Call tree: cHeapBase | dataEnd → readLayout → Reader → readImports | readGlobals (constExpr) |
//            the export section | readData (constExpr)
import { InvalidArgumentError } from "./errors.js";

const bad = (why: string) => new InvalidArgumentError(`cHeapBase: ${why}`);

class Reader {
  pos: number;
  constructor(readonly u8: Uint8Array, pos: number, readonly end: number) {
    this.pos = pos;
  }
  byte(): number {
    if (this.pos >= this.end) throw bad("the module is truncated or malformed");
    return this.u8[this.pos++]!;
  }
  skip(n: number): void {
    if (n > this.end - this.pos) throw bad("the module is truncated or malformed");
    this.pos += n;
  }
  /** Unsigned LEB128 up to 64 bits (as a float: exact below 2^53, enough for counts and sizes). */
  uleb(): number {
    let r = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift > 63) throw bad("an integer is too long");
      const b = this.byte();
      r += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return r;
    }
  }
  /** Signed LEB128 of at most `bits` bits; the low 32 bits as an unsigned number. */
  sleb(bits: number): number {
    let r = 0;
    let shift = 0;
    let b: number;
    do {
      if (shift >= bits + 7) throw bad("an integer is too long");
      b = this.byte();
      if (shift < 32) r |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (shift < 32 && b & 0x40) r |= -1 << shift;
    return r >>> 0;
  }
  name(): string {
    const n = this.uleb();
    const start = this.pos;
    this.skip(n);
    return new TextDecoder().decode(this.u8.subarray(start, start + n));
  }
  /** A value type: a number/vector/reference type byte, or (GC) ref/ref null + a heap type. */
  valType(): number {
    const t = this.byte();
    if (t === 0x63 || t === 0x64) this.sleb(33);
    return t;
  }
  limits(): void {
    const flags = this.uleb(); // bit 0: maximum present; bit 1: shared; bit 2: 64-bit
    this.uleb();
    if (flags & 1) this.uleb();
  }
}

/** A global's value when it is a known i32 constant; undefined otherwise (another type, an import). */
type Value = number | undefined;

const I32 = 0x7f;

/** Evaluate one constant expression (through its `end`). i32 arithmetic is tracked; every other value is
 *  unknown (undefined). `globals` holds the values of the globals before this one. */
function constExpr(r: Reader, globals: readonly Value[]): Value {
  const stack: Value[] = [];
  const pop = () => (stack.length > 0 ? stack.pop() : undefined);
  const i32op = (f: (a: number, b: number) => number) => {
    const b = pop();
    const a = pop();
    stack.push(a === undefined || b === undefined ? undefined : f(a, b) >>> 0);
  };
  for (;;) {
    const op = r.byte();
    switch (op) {
      case 0x0b:
        return stack.length === 1 ? stack[0] : undefined;
      case 0x41: stack.push(r.sleb(32)); break; // i32.const
      case 0x42: r.sleb(64); stack.push(undefined); break; // i64.const
      case 0x43: r.skip(4); stack.push(undefined); break; // f32.const
      case 0x44: r.skip(8); stack.push(undefined); break; // f64.const
      case 0x23: stack.push(globals[r.uleb()]); break; // global.get (an import or an earlier global)
      case 0xd0: r.sleb(33); stack.push(undefined); break; // ref.null heaptype
      case 0xd2: r.uleb(); stack.push(undefined); break; // ref.func
      case 0x6a: i32op((a, b) => a + b); break; // i32.add (extended-const)
      case 0x6b: i32op((a, b) => a - b); break; // i32.sub
      case 0x6c: i32op((a, b) => Math.imul(a, b)); break; // i32.mul
      case 0x7c: case 0x7d: case 0x7e: pop(); pop(); stack.push(undefined); break; // i64.add/sub/mul
      case 0xfd: { // SIMD prefix: only v128.const (12) is constant
        if (r.uleb() !== 12) throw bad("a global's init expression is not constant");
        r.skip(16);
        stack.push(undefined);
        break;
      }
      case 0xfb: { // GC prefix: the constant instructions
        const sub = r.uleb();
        if (sub === 0 || sub === 6) { r.uleb(); stack.length = 0; stack.push(undefined); } // struct.new, array.new: consume operands
        else if (sub === 1 || sub === 7) { r.uleb(); if (sub === 7) pop(); stack.push(undefined); } // *_default
        else if (sub === 8) { r.uleb(); const n = r.uleb(); for (let i = 0; i < n; i++) pop(); stack.push(undefined); } // array.new_fixed
        else if (sub === 26 || sub === 27 || sub === 28) { pop(); stack.push(undefined); } // any/extern convert, ref.i31
        else throw bad("a global's init expression is not constant");
        break;
      }
      default:
        throw bad(`a global's init expression uses opcode 0x${op.toString(16)}, which is not constant`);
    }
  }
}

function readImports(r: Reader): number {
  let globals = 0;
  for (let n = r.uleb(); n > 0; n--) {
    r.name();
    r.name();
    const kind = r.byte();
    if (kind === 0) r.uleb(); // function: type index
    else if (kind === 1) { r.valType(); r.limits(); } // table
    else if (kind === 2) r.limits(); // memory
    else if (kind === 3) { r.valType(); r.byte(); globals++; } // global: type, mutability
    else if (kind === 4) { r.byte(); r.uleb(); } // tag: attribute, type index
    else throw bad(`unknown import kind ${kind}`);
  }
  return globals;
}

function readGlobals(r: Reader, values: Value[]): void {
  for (let n = r.uleb(); n > 0; n--) {
    const type = r.valType();
    r.byte(); // mutability
    const v = constExpr(r, values);
    values.push(type === I32 ? v : undefined);
  }
}

/** What a module says about where its static data ends. */
interface Layout {
  /** The exported __heap_base's value (undefined: not exported, or not an i32 constant). */
  heapBase: number | undefined;
  /** The first byte above every active data segment (0 without any). */
  dataEnd: number;
}

function toBytes(bytes: BufferSource): Uint8Array {
  return bytes instanceof Uint8Array
    ? bytes
    : ArrayBuffer.isView(bytes)
      ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      : new Uint8Array(bytes);
}

/** Data segments: flags 0 (active, memory 0), 1 (passive), 2 (active, explicit memory). */
function readData(r: Reader, values: readonly Value[]): number {
  let end = 0;
  for (let n = r.uleb(); n > 0; n--) {
    const flags = r.uleb();
    if (flags > 2) throw bad(`unknown data segment kind ${flags}`);
    let offset: Value = 0;
    if (flags !== 1) {
      if (flags === 2) r.uleb();
      offset = constExpr(r, values);
    }
    const size = r.uleb();
    r.skip(size);
    if (flags === 1) continue;
    if (offset === undefined) throw bad("a data segment's offset is not an i32 constant");
    end = Math.max(end, offset + size);
  }
  return end;
}

function readLayout(bytes: BufferSource, withData: boolean): Layout {
  const u8 = toBytes(bytes);
  if (u8.length < 8 || u8[0] !== 0 || u8[1] !== 0x61 || u8[2] !== 0x73 || u8[3] !== 0x6d || u8[4] !== 1) {
    throw bad("not a Wasm module (version 1)");
  }
  const top = new Reader(u8, 8, u8.length);
  const values: Value[] = []; // the global index space: imports (unknown) then definitions
  let exported = -1;
  let dataEnd = 0;
  while (top.pos < top.end) {
    const id = top.byte();
    const size = top.uleb();
    const r = new Reader(u8, top.pos, top.pos + size);
    top.skip(size);
    if (id === 2) values.push(...new Array<Value>(readImports(r)).fill(undefined));
    else if (id === 6) readGlobals(r, values);
    else if (id === 7) {
      for (let n = r.uleb(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.uleb();
        if (name === "__heap_base" && kind === 3) exported = index;
      }
    } else if (id === 11 && withData) dataEnd = readData(r, values);
  }
  return { heapBase: exported >= 0 ? values[exported] : undefined, dataEnd };
}

/** The __heap_base a wasm-ld-linked C module declares (it must export it: --export=__heap_base, or
 *  --export-all): the allocator's heap must start at or above it. Read from the binary, without
 *  instantiating. Throws InvalidArgumentError when the bytes are not a Wasm module, or the module does
 *  not export __heap_base as an i32 constant. */
export function cHeapBase(bytes: BufferSource): number {
  const v = readLayout(bytes, false).heapBase;
  if (v === undefined) {
    throw bad("the module does not export __heap_base as an i32 constant (link with -Wl,--export=__heap_base)");
  }
  return v;
}

/** The first byte above a module's static data (its active data segments), rounded up to 16: for a
 *  module that shares its memory with the allocator and exports no __heap_base. An AssemblyScript program
 *  compiled with --runtime wasm-slab/as/slab-runtime keeps a shadow stack right above its data (32 KiB
 *  unless --stackSize says otherwise), so its heap base is dataEnd(bytes) + 32768 (README: "AssemblyScript
 *  programs"). Throws InvalidArgumentError when the bytes are not a Wasm module or a segment's offset is
 *  not a constant. */
export function dataEnd(bytes: BufferSource): number {
  return (readLayout(bytes, true).dataEnd + 15) & ~15;
}
