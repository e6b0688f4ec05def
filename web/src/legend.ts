// The map's legend (the needs' colours, the rings and marks, the object types with their letters)
// and what follows the world's needs list: the legend, the overview's menu, the panel, the charts.
import { CONTENT_COLOUR, h, objectColour } from "./dom.ts";
import { needs } from "./model.ts";
import type { Page } from "./page.ts";

/** The world's needs list arrived or changed: the legend, the overview's menu, the panel and the charts follow. */
export function needsChanged(page: Page): void {
  const kpi = page.els.kpi;
  legend(page);
  const first = kpi.querySelector('option[value="wallet"]');
  for (const o of Array.from(kpi.querySelectorAll("option[data-need]"))) o.remove();
  for (const n of needs()) {
    const o = h("option", { value: n.name, "data-need": "1" }, n.label);
    kpi.insertBefore(o, first);
  }
  page.panel.setNeeds();
  page.charts.setNeeds();
}

export function legend(page: Page): void {
  const sw = (cls: string, colour: string, text: string) => {
    const s = h("span", { class: `sw ${cls}` });
    if (cls.includes("ring")) s.style.borderColor = colour;
    else s.style.background = colour;
    return h("span", {}, s, text);
  };
  page.els.legend.replaceChildren(
    sw("", CONTENT_COLOUR, "needs met"),
    ...needs().map((n) => sw("", n.colour, `${n.label} most urgent`)),
    sw("ring", "#ff4d4d", "late"),
    sw("ring", "#6b7280", "absent"),
    sw("", "#ffc45c", "queued (dashed line), badge = queue length"),
    sw("", "#ffb020", "\u25b2 queue conflict"),
    sw("", "rgba(255,255,255,0.55)", "solid line = reservation"),
  );
  // The object types were just cleared with the rest: list them again.
  page.listed.legendObjects = "";
  legendObjects(page);
}

/** The object types on the map, each with the letters drawn on it. */
export function legendObjects(page: Page): void {
  const el = page.els.legend;
  const labels = [...page.map.objectLabels()];
  const key = labels.map(([t, l]) => `${t}=${l}`).join(",");
  if (key === page.listed.legendObjects) return;
  page.listed.legendObjects = key;
  for (const o of el.querySelectorAll(".obj")) o.remove();
  for (const [type, label] of labels) {
    const s = h("span", { class: "sw sq" });
    s.style.background = objectColour(type);
    el.append(h("span", { class: "obj", "data-type": type }, s, h("b", {}, label), ` ${type}`));
  }
}
