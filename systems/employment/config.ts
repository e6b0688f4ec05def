// Config sections owned by the employment system: `jobs` (shift specs) and `employment`
// (attendance, penalties, exit review). Read at start by the jobs/wages pass in the needs phase.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

export const JobSpec = z
  .strictObject({
    start_tick: z.int().min(0).default(0).describe("shift start, tick of the day"),
    end_tick: z.int().min(0).default(0).describe("shift end, tick of the day (>= start_tick)"),
    wage_rate: z.number().min(0).default(0).describe("money paid per tick on shift"),
    lateness_penalty: z.number().min(0).default(0).describe("money withheld per late arrival"),
    location: z
      .tuple([z.int().min(0), z.int().min(0)])
      .nullable()
      .optional()
      .describe("workplace tile [x, y]; null or absent = anywhere"),
  })
  .superRefine((job, ctx) => {
    if (job.end_tick < job.start_tick) {
      ctx.addIssue({
        code: "custom",
        path: ["end_tick"],
        message: `expected end_tick >= start_tick (${job.start_tick}), got ${job.end_tick}`,
      });
    }
  })
  .describe("one job's shift, wage and workplace");

/** Jobs used when a config has no `jobs` section. A given section replaces these entirely. */
export function defaultJobs(): Record<string, z.input<typeof JobSpec>> {
  return {
    grocer: { start_tick: 180, end_tick: 360, wage_rate: 0.02, lateness_penalty: 0.1, location: [0, 0] },
    barista: { start_tick: 400, end_tick: 560, wage_rate: 0.025, lateness_penalty: 0.12, location: [1, 0] },
  };
}

export const JobsSection = z
  .record(z.string().min(1), JobSpec)
  .prefault(defaultJobs)
  .describe("job id -> shift spec; agents without a job are assigned round-robin over these keys");

export const EmploymentSection = z
  .strictObject({
    grace_ticks: z.int().min(0).max(120).default(5).describe("ticks after shift start still counted on time"),
    absent_cutoff: z.int().min(0).max(600).default(30).describe("ticks after shift start after which the agent is absent"),
    absence_slack: z.int().min(0).max(600).default(20).describe("ticks of absence tolerated before a shift counts as missed"),
    late_tick_penalty: z.number().min(0).max(1).default(0.005).describe("wage withheld per late tick, money units"),
    absence_penalty: z.number().min(0).max(5).default(0.2).describe("penalty per missed shift, money units"),
    max_absent_shifts: z.int().min(0).max(20).default(3).describe("missed shifts within the last 7 exit_review_window days that queue an agent for exit (0 = never)"),
    attendance_window: z.int().min(1).max(14).default(3).describe("shifts whose on-time fraction attendance_ratio averages"),
    daily_exit_cap: z.int().min(0).max(50).default(2).describe("most employment exits approved per day"),
    exit_queue_limit: z.int().min(0).max(100).default(8).describe("most agents waiting for exit review"),
    exit_review_window: z.int().min(1).max(100_000).default(1440).describe("ticks an exit request waits for review"),
    enforce_job_loop: z.boolean().default(false).describe("run the full attendance/exit state machine each tick"),
  })
  .prefault({})
  .describe("employment attendance, penalties and exit review");

export type JobSpecConfig = z.output<typeof JobSpec>;
export type JobsConfig = z.output<typeof JobsSection>;
export type EmploymentConfig = z.output<typeof EmploymentSection>;

export const sections = {
  jobs: JobsSection,
  employment: EmploymentSection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    jobs: JobsConfig;
    employment: EmploymentConfig;
  }
}
