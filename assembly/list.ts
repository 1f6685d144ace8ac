// list.ts — intrusive doubly linked lists threaded through page descriptors (PageDesc.next / prev;
// a chunk header's next / prev sit at the same offsets, so free-chunk lists use these too).
//
// Owns: nothing but the two link fields' discipline. A list is a u32 head word somewhere in a node or
// cache-node struct; an element is a descriptor address; 0 ends the list. The first element's prev is 0.
// Callers hold the lock that protects the head word.
import { PageDesc } from "./structs";

@inline export function listPush(head: usize, d: usize): void {
  const first = load<u32>(head);
  changetype<PageDesc>(d).next = first;
  changetype<PageDesc>(d).prev = 0;
  if (first != 0) changetype<PageDesc>(first).prev = <u32>d;
  store<u32>(head, <u32>d);
}

@inline export function listRemove(head: usize, d: usize): void {
  const nx = changetype<PageDesc>(d).next;
  const pv = changetype<PageDesc>(d).prev;
  if (pv != 0) changetype<PageDesc>(pv).next = nx;
  else store<u32>(head, nx);
  if (nx != 0) changetype<PageDesc>(nx).prev = pv;
  changetype<PageDesc>(d).next = 0;
  changetype<PageDesc>(d).prev = 0;
}

@inline export function listPop(head: usize): usize {
  const d = <usize>load<u32>(head);
  if (d != 0) listRemove(head, d);
  return d;
}
