/**
 * Element order of merged lists, as upstream normalizeElementOrder does it: items named by the patch
 * (or by `$setElementOrder`) follow that order, server-only items keep their live order, and the two
 * runs are interleaved by live position. A patch item the live list lacks goes before the remaining
 * server-only items, which is why a plain strategic patch prepends new elements, as upstream does.
 */

import { getOwn, isObject, type Json } from './json.ts';

/** Orders `merged` by `order` (patch items) and `serverOrder` (live items); see the file comment. */
export function orderList(merged: Json[], order: Json[], serverOrder: Json[], mergeKey: string): Json[] {
  // Upstream cannot partition maps without a merge key (it would panic); leave such lists as merged.
  if (mergeKey === '' && merged.some((v) => v !== null && typeof v === 'object')) return merged;
  const patchItems: Json[] = [];
  const serverOnly: Json[] = [];
  for (const v of merged) (indexIn(order, v, mergeKey) >= 0 ? patchItems : serverOnly).push(v);
  sortBy(patchItems, order, mergeKey);
  sortBy(serverOnly, serverOrder, mergeKey);

  // mergeSortedSlice(left = serverOnly, right = patchItems): take the server-only item first only when
  // both are in the live list and it comes earlier there.
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (j >= patchItems.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(patchItems[j++]);
    else {
      const li = indexIn(serverOrder, serverOnly[i], mergeKey);
      const ri = indexIn(serverOrder, patchItems[j], mergeKey);
      out.push(li >= 0 && ri >= 0 && li < ri ? serverOnly[i++] : patchItems[j++]);
    }
  }
  return out;
}

/** Stable sort by position in `order`; items not found there keep their relative order at the end. */
function sortBy(items: Json[], order: Json[], mergeKey: string): void {
  if (items.length < 2) return;
  const rank = new Map<Json, number>();
  for (const v of items) {
    const at = indexIn(order, v, mergeKey);
    rank.set(v, at < 0 ? Number.MAX_SAFE_INTEGER : at);
  }
  // Primitives can repeat in `items` only if the input had duplicates; the Map then holds one rank, which is fine.
  items.sort((a, b) => (rank.get(a) as number) - (rank.get(b) as number));
}

function indexIn(list: Json[], item: Json, mergeKey: string): number {
  if (mergeKey === '') return list.indexOf(item);
  if (!isObject(item)) return -1;
  const key = getOwn(item, mergeKey);
  if (key === undefined) return -1;
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    if (isObject(e) && getOwn(e, mergeKey) === key) return i;
  }
  return -1;
}
