// Where agents and objects stand: a tile of their town's grid.
import { defineComponent } from "../engine/component.ts";

export const Position = defineComponent(
  "Position",
  {
    x: { type: Int16Array, doc: "tile column, 0..grid_size[0]-1" },
    y: { type: Int16Array, doc: "tile row, 0..grid_size[1]-1" },
  },
  "tile position in the entity's town",
);
