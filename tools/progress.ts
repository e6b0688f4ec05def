// Progress for long runs: a bar (cli-progress) when stderr is a terminal, plain lines
// otherwise (CI logs, pipes), every 10% or 5 seconds. Always on stderr, so stdout stays clean
// for `--json`.
import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, extra?: string): void;
  stop(): void;
}

export function createProgress(label: string, total: number, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || total <= 0) return { update() {}, stop() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} | {extra} | eta {eta_formatted}`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { extra: "" });
    return {
      update: (done, extra = "") => bar.update(done, { extra }),
      stop: () => bar.stop(),
    };
  }
  const started = performance.now();
  let lastAt = started;
  let lastPct = 0;
  return {
    update(done, extra = "") {
      const now = performance.now();
      const pct = Math.floor((100 * done) / total);
      if (pct >= lastPct + 10 || now - lastAt >= 5000) {
        lastPct = pct - (pct % 10);
        lastAt = now;
        stream.write(`${label}: ${done}/${total} (${pct}%)${extra ? `, ${extra}` : ""}, ${((now - started) / 1000).toFixed(1)} s\n`);
      }
    },
    stop() {},
  };
}
