// Small DOM helpers: element lookup that names the missing id, element creation, and colours.

/** The element with this id; throws naming the id when index.html lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`observer page: element #${id} is missing from index.html`);
  return el as T;
}

type Attrs = Record<string, string | number | boolean | undefined>;

/** Creates an element; `text` children become text nodes (never parsed as HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

// Colours of the needs come with the needs list (model.ts needColour: config needs.<need>.colour).
export const CONTENT_COLOUR = "#57c26a";

/** Colours of object types; other types get one from their name. */
const OBJECT_COLOURS: Record<string, string> = {
  fridge: "#5fb3c9",
  stove: "#d9734a",
  shower: "#4f8fe0",
  bed: "#9b7fd1",
  bench: "#8fa35a",
  cafe: "#c79a4a",
  desk: "#8a8f99",
  sink: "#4fb0a9",
};

export function objectColour(type: string): string {
  const known = OBJECT_COLOURS[type];
  if (known) return known;
  let hash = 0;
  for (let i = 0; i < type.length; i++) hash = (hash * 31 + type.charCodeAt(i)) | 0;
  return `hsl(${Math.abs(hash) % 360} 45% 55%)`;
}

/** Mixes two #rrggbb colours (t = 0: a, 1: b). */
export function mix(a: string, b: string, t: number): string {
  const p = (c: string, i: number) => parseInt(c.slice(1 + 2 * i, 3 + 2 * i), 16);
  const ch = (i: number) => Math.round(p(a, i) + (p(b, i) - p(a, i)) * t);
  return `rgb(${ch(0)}, ${ch(1)}, ${ch(2)})`;
}

/** A red-yellow-green scale for values in [0, 1] (1 = good). */
export function goodBad(v: number): string {
  const t = Math.max(0, Math.min(1, v));
  return t < 0.5 ? mix("#d64541", "#e6c145", t * 2) : mix("#e6c145", "#4caf50", (t - 0.5) * 2);
}
