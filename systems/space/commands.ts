// The space plug-in's console commands: `teleport` moves an agent to a tile and `arrange_meet`
// brings agents together (through the perturbation scheduler when a spec is given, else by
// moving them next to each other now).
import { z } from "zod";
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { AgentIdArg, CommandError, CoordArg, checkTile, gridSize, requireAgent, unavailable, type CommandDef } from "../../engine/command.ts";
import { Position } from "../../components/space.ts";
import { SpaceKey } from "../../components/grid.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { ObservationsKey } from "../../components/observations.ts";
import { consoleCommand, perturbationOps } from "../../components/console.ts";

/** Moves an agent to a tile: Position, the spatial index, and a context reset for its observations. */
function place(world: World, eid: number, x: number, y: number): void {
  if (!world.has(eid, Position)) throw new CommandError("unavailable", "agents have no Position component in this world");
  const P = world.columns(Position);
  P.x[eid] = x;
  P.y[eid] = y;
  world.optionalResource(SpaceKey)?.place(eid, world.columns(Town).id[eid], x, y);
  world.optionalResource(ObservationsKey)?.requestContextReset?.(eid);
}

/** The meeting point and the tiles around it, nearest first, inside the grid: one per agent. */
function meetingSpots(world: World, tx: number, ty: number, n: number): [number, number][] {
  const [gw, gh] = gridSize(world);
  const spots: [number, number][] = [];
  for (let r = 0; spots.length < n && r < Math.max(gw, gh); r++) {
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        if (Math.max(Math.abs(dx), Math.abs(dy)) !== r) continue;
        const x = tx + dx;
        const y = ty + dy;
        if (x >= 0 && y >= 0 && x < gw && y < gh) spots.push([x, y]);
      }
    }
  }
  return spots;
}

/** Where agents meet: an object's tile, a given tile, or the first agent's tile. */
function meetingPoint(w: World, town: number, first: number, a: { x?: number; y?: number; object_id?: string }): [number, number] {
  if (a.object_id !== undefined) {
    const svc = w.optionalResource(AffordancesKey);
    const o = svc ? svc.objectById(town, a.object_id) : 0;
    if (!o) throw new CommandError("not_found", `object_id: no object "${a.object_id}" in town ${town}`);
    return [w.columns(Position).x[o], w.columns(Position).y[o]];
  }
  if (a.x !== undefined) {
    checkTile(w, a.x, a.y!);
    return [a.x, a.y!];
  }
  const P = w.columns(Position);
  return [P.x[first], P.y[first]];
}

export const spaceCommands: CommandDef[] = [
  consoleCommand({
    name: "teleport",
    role: "admin",
    destructive: true,
    doc: "moves an agent to a tile: {agent_id, x, y}",
    args: z.strictObject({ agent_id: AgentIdArg, x: CoordArg, y: CoordArg }),
    run(w, a) {
      const eid = requireAgent(w, a.agent_id);
      checkTile(w, a.x, a.y);
      const P = w.has(eid, Position) ? w.columns(Position) : undefined;
      const from = P ? [P.x[eid], P.y[eid]] : null;
      place(w, eid, a.x, a.y);
      return { agent_id: a.agent_id, from, to: [a.x, a.y] };
    },
  }),
  consoleCommand({
    name: "arrange_meet",
    role: "admin",
    destructive: true,
    doc: "brings agents together: {agents, x?, y? | object_id?} (through the perturbation scheduler when it offers arranged meets)",
    args: z
      .strictObject({
        agents: z.array(AgentIdArg).min(2).max(16),
        x: CoordArg.optional(),
        y: CoordArg.optional(),
        object_id: z.string().min(1).optional(),
        spec: z.string().min(1).optional(),
        starts_in: z.int().min(0).optional(),
        duration: z.int().min(1).optional(),
      })
      .refine((a) => (a.x === undefined) === (a.y === undefined), { message: "expected both x and y, or neither", path: ["y"] })
      .refine((a) => new Set(a.agents).size === a.agents.length, { message: "expected distinct agents", path: ["agents"] }),
    run(w, a, ctx) {
      const eids = a.agents.map((id, i) => requireAgent(w, id, `agents.${i}`));
      // With a spec, the scheduler arranges the meeting (an arranged_meet perturbation);
      // without one the agents are moved next to each other now.
      const pert = a.spec !== undefined ? perturbationOps(ctx) : undefined;
      if (a.spec !== undefined && !pert?.arrangeMeet) unavailable("arrange_meet with a spec", "no perturbation scheduler in this world");
      if (pert?.arrangeMeet) {
        const r = pert.arrangeMeet(w, a);
        if (r !== undefined) return { via: "perturbation", event: r };
      }
      const town = w.columns(Town).id;
      const t = town[eids[0]];
      eids.forEach((e, i) => {
        if (town[e] !== t) throw new CommandError("invalid_args", `agents.${i}: "${a.agents[i]}" lives in town ${town[e]}, not ${t}`);
      });
      const [tx, ty] = meetingPoint(w, t, eids[0], a);
      const spots = meetingSpots(w, tx, ty, eids.length);
      const placed = eids.map((e, i) => {
        const [x, y] = spots[Math.min(i, spots.length - 1)];
        place(w, e, x, y);
        return { agent_id: a.agents[i], x, y };
      });
      return { via: "teleport", location: [tx, ty], agents: placed };
    },
  }),
];
