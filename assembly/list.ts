// list.ts — intrusive doubly linked lists threaded through page descriptors (D_NEXT / D_PREV).
//
// Owns: nothing but the two link fields' discipline. A list is a u32 head word somewhere in a node or
// cache-node struct; an element is a descriptor address; 0 ends the list. The first element's prev is 0.
// Callers hold the lock that protects the head word.
import { D_NEXT, D_PREV } from "./layout";

@inline export function listPush(head: usize, d: usize): void {
  const first = load<u32>(head);
  store<u32>(d, first, D_NEXT);
  store<u32>(d, 0, D_PREV);
  if (first != 0) store<u32>(first, <u32>d, D_PREV);
  store<u32>(head, <u32>d);
}

@inline export function listRemove(head: usize, d: usize): void {
  const nx = load<u32>(d, D_NEXT);
  const pv = load<u32>(d, D_PREV);
  if (pv != 0) store<u32>(pv, nx, D_NEXT);
  else store<u32>(head, nx);
  if (nx != 0) store<u32>(nx, pv, D_PREV);
  store<u32>(d, 0, D_NEXT);
  store<u32>(d, 0, D_PREV);
}

@inline export function listPop(head: usize): usize {
  const d = <usize>load<u32>(head);
  if (d != 0) listRemove(head, d);
  return d;
}
