// The head of a tile's agent list for the chat and rivalry check (decide.ts meetNeighbours): the
// friend an agent chats with is the first other agent in its tile's list (issue #19).
import type { SpatialIndex } from "../../components/grid.ts";

/** Steps back along a tile's list taken to find its head before the tile itself is read. */
const HEAD_STEPS = 4;

/**
 * The first agent of tile `t`'s list (as `space.headAt(t)`). When `eid` stands in that list it
 * is found from eid's own links, back along `prev` (a town's agents have neighbouring ids: one
 * cache line), instead of through the tile's head and the town's slot table (two misses); after
 * HEAD_STEPS steps (a crowded tile), and for an agent not in the list, through those.
 */
export function tileHead(space: SpatialIndex, eid: number, t: number): number {
  if (space.tileOf[eid] === t) {
    const prev = space.prev;
    let first = eid;
    let p = prev[eid];
    for (let steps = 0; steps < HEAD_STEPS && p !== 0; steps++) {
      first = p;
      p = prev[p];
    }
    if (p === 0) return first;
  }
  return space.headAt(t);
}
