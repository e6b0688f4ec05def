// The economy's console command: `price` sets a town's price multiplier.
import { z } from "zod";
import { CommandError, TownArg, checkTown, unavailable, type CommandDef } from "../../engine/command.ts";
import { EconomyKey, TownEconomy } from "../../components/economy.ts";
import { consoleCommand } from "../../components/console.ts";

export const economyCommands: CommandDef[] = [
  consoleCommand({
    name: "price",
    role: "admin",
    destructive: true,
    doc: "sets a town's price multiplier (1 = baseline): {town?, multiplier} or {town?, factor} (multiplies the current one)",
    args: z
      .strictObject({ town: TownArg, multiplier: z.number().min(0).max(100).optional(), factor: z.number().min(0).max(100).optional() })
      .refine((a) => (a.multiplier === undefined) !== (a.factor === undefined), { message: "expected exactly one of multiplier / factor", path: ["multiplier"] }),
    run(w, a) {
      checkTown(w, a.town);
      if (!w.townStore.isRegistered(TownEconomy)) unavailable("price", "the economy plug-in is not in this world");
      const col = w.townColumns(TownEconomy).price_multiplier;
      const previous = col[a.town];
      const next = a.multiplier ?? previous * a.factor!;
      if (!(next <= 100)) throw new CommandError("invalid_args", `factor: the multiplier would be ${next}, above 100`);
      const econ = w.optionalResource(EconomyKey);
      if (econ) econ.setPriceMultiplier(a.town, next);
      else col[a.town] = next;
      return { town: a.town, previous: Math.round(previous * 1e6) / 1e6, multiplier: Math.round(col[a.town] * 1e6) / 1e6 };
    },
  }),
];
