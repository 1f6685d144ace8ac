// structs.ts — arithmetic on the structures drawn in layout.ts that more than one layer needs, kept
// here (not in layout.ts, whose every export becomes a Wasm global through abi.ts).
//
// Owns: the object-index formula. Entry point: objectIndexAt(). Called by: inuse.ts, slab.ts, node.ts.
// Calls nothing.
//
// A cache's C_RECIP is ⌊2^32 / stride⌋ + 1, so for an offset `off` from object 0 inside the slab
// (off < objects × stride ≤ 32 KiB) (off × recip) >> 32 = ⌊off / stride⌋ exactly: the error of the
// reciprocal, off × (recip − 2^32 / stride) < 2^32 / stride, never carries into the next integer.

// The index of the object that starts `off` bytes after object 0, for a cache whose C_RECIP is `recip`.
@inline export function objectIndexAt(off: u32, recip: u32): u32 {
  return <u32>((<u64>off * recip) >> 32);
}
