// The canonical state hash: a 64-bit digest (two independent 32-bit lanes) over raw bytes fed
// in a fixed order. Cheap enough to run every tick in tests; not cryptographic.
const f64 = new Float64Array(1);
const f64w = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const f32w = new Uint32Array(f32.buffer);

export class StateHasher {
  private a = 0x811c9dc5 | 0;
  private b = 0x9747b28c | 0;
  private n = 0;

  /** Mixes one 32-bit word. */
  u32(x: number): this {
    let k = x | 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    let a = this.a ^ k;
    a = (a << 13) | (a >>> 19);
    this.a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    let b = this.b ^ Math.imul(x | 0, 0x85ebca6b);
    b = (b << 17) | (b >>> 15);
    this.b = (Math.imul(b, 9) + 0x7fd2a9b1) | 0;
    this.n++;
    return this;
  }
  f64(x: number): this {
    f64[0] = x;
    return this.u32(f64w[0]).u32(f64w[1]);
  }
  f32(x: number): this {
    f32[0] = x;
    return this.u32(f32w[0]);
  }
  str(s: string): this {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.u32(s.charCodeAt(i));
    return this;
  }
  /** 16 hex digits. */
  digest(): string {
    const fin = (h: number, seed: number) => {
      h ^= this.n ^ seed;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return (h >>> 0).toString(16).padStart(8, "0");
    };
    return fin(this.a, 0x1234567) + fin(this.b ^ this.a, 0x7654321);
  }
}
