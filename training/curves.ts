// The learning-curve chart of a training run: the reward per agent per 1,000 ticks and the exits
// per agent-day over the PPO updates (smoothed over an episode) beside the scripted and random
// references, and the losses.
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Dataset } from "./dataset.ts";
import type { EvalResult } from "./evaluate.ts";
import { renderCurves } from "./chart.ts";
import type { TrainSettings } from "./trainer.ts";

/** The PPO updates' figures, one entry per update. */
export interface Curves {
  x: number[];
  reward: number[];
  exits: number[];
  lossPolicy: number[];
  lossValue: number[];
  entropy: number[];
}

export function emptyCurves(): Curves {
  return { x: [], reward: [], exits: [], lossPolicy: [], lossValue: [], entropy: [] };
}

/** Writes `<out>/learning_curve.png` and returns its path; null when there was no PPO update. */
export async function writeLearningCurve(s: TrainSettings, configId: string, curves: Curves, evaluation: readonly EvalResult[], dataset: Dataset | undefined): Promise<string | null> {
  let chart: string | null = null;
  if (curves.x.length > 0) {
    const ref = (name: string, pick: (r: EvalResult) => number) => {
      const r = evaluation.find((x) => x.policy === name);
      return r ? [{ name, dashed: true, points: [[curves.x[0], pick(r)], [curves.x[curves.x.length - 1], pick(r)]] as [number, number][] }] : [];
    };
    const scriptedRecording = dataset
      ? [{ name: "scripted", dashed: true, points: [[curves.x[0], 1000 * dataset.manifest.stats.reward_mean], [curves.x[curves.x.length - 1], 1000 * dataset.manifest.stats.reward_mean]] as [number, number][] }]
      : [];
    const pts = (ys: number[]) => curves.x.map((x, i) => [x, ys[i]] as [number, number]);
    // Rollouts sample different phases of an episode (needs start low; the per-episode clip
    // flattens the reward later): average over the updates that make up one episode.
    const w = Math.max(1, Math.ceil(s.episodeTicks / s.rolloutTicks));
    const smooth = (ys: number[]) => ys.map((_, i) => {
      const lo = Math.max(0, i - w + 1);
      let sum = 0;
      for (let j = lo; j <= i; j++) sum += ys[j];
      return sum / (i - lo + 1);
    });
    const png = await renderCurves({
      title: `townlet train: ${configId}, ${s.towns} towns, ${s.updates} PPO updates`,
      xLabel: "PPO update",
      panels: [
        // The training world's reward (its --train-set changes, no alive bonus): the scripted line is
        // the recording made in that same world; the evaluation's figures use the config as it is.
        { title: `reward per agent per 1,000 ticks (training world, mean of the last ${w}; scripted: its recording there)`, yLabel: "reward", series: [{ name: "ppo", points: pts(smooth(curves.reward)) }, ...scriptedRecording] },
        { title: `exits per agent-day (lower is better; mean of the last ${w})`, yLabel: "exits", series: [{ name: "ppo", points: pts(smooth(curves.exits)) }, ...ref("scripted", (r) => r.exits_per_agent_day), ...ref("random", (r) => r.exits_per_agent_day)] },
        { title: "losses", yLabel: "loss", series: [{ name: "policy", points: pts(curves.lossPolicy) }, { name: "value", points: pts(curves.lossValue) }, { name: "entropy", points: pts(curves.entropy) }] },
      ],
    });
    chart = path.join(s.out, "learning_curve.png");
    writeFileSync(chart, png);
  }
  return chart;
}
