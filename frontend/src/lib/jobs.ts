/** What a running analysis job's panel says (lib/JobProgress.svelte): how full its bar is,
 * how far it got, what runs before it and how long it has left. Pure, so the rules are tested
 * here and every job-backed view shows them the same way. */

import type { JobDescription, Progress } from "./api";
import type { Schemas } from "./schema";

/** One job that runs before the described one (a row of JobDescription.ahead). */
export type JobAhead = Schemas["JobAhead"];

/** The bar's fill, 0..1; null draws an indeterminate bar: a job that has not said how many
 * steps it has (total 0), or has a single step (it cannot say how far into it it is). */
export function barFraction(progress: Progress | null | undefined): number | null {
  if (!progress || progress.total < 2) return null;
  return Math.min(1, Math.max(0, progress.done / progress.total));
}

/** "3 of 15 steps" (with the view's word for a step); "" while the total is unknown, never
 * "0 / 0". */
export function stepsText(progress: Progress | null | undefined, unit = "steps"): string {
  if (!progress || progress.total < 2) return "";
  return `${Math.min(progress.done, progress.total)} of ${progress.total} ${unit}`;
}

/** The panel's first words: the view's label and how far the job got ("Measuring: 2 of 5
 * evaluations"), or "Waiting to start" while it is queued (its place: queueText). */
export function headline(label: string, progress: Progress | null | undefined, job: JobDescription | null, unit = "steps"): string {
  if (job?.state === "queued") return "Waiting to start";
  const steps = stepsText(progress, unit);
  if (!label) return steps;
  return steps ? `${label}: ${steps}` : `${label}…`;
}

/** Seconds as a reader wants them: "~40 s", "~6 min", "~1 h 5 min" (rounded up past 90 s). */
export function duration(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s < 90) return `~${s} s`;
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) return `~${minutes} min`;
  const rest = minutes % 60;
  return `~${Math.floor(minutes / 60)} h${rest ? ` ${rest} min` : ""}`;
}

/** The job's own time left: "~40 s left"; "estimating time left…" while it runs without a
 * pace yet; "" when it is not running (queued: see queueText). */
export function estimateText(job: JobDescription | null | undefined): string {
  if (!job || job.state !== "running") return "";
  if (job.estimate_s === null || job.estimate_s === undefined) return "estimating time left…";
  return `${duration(job.estimate_s)} left`;
}

/** A job ahead, for a reader: its message (or kind) and how long until it is out of the way. */
export function aheadText(row: JobAhead): string {
  const what = row.message || row.kind;
  const known = row.estimate_s !== null && row.estimate_s !== undefined;
  if (row.until === "next_step") {
    return `${what}, which steps aside after its current step${known ? ` (${duration(row.estimate_s!)})` : ""}`;
  }
  if (row.state === "queued") return `${what} (queued)`;
  return `${what}, ${known ? `${duration(row.estimate_s!)} left` : "time left not known yet"}`;
}

/** Where the job stands in the queue: "waiting: 1 job ahead: robustness of …, ~6 min left";
 * a running job that let a shorter one in: "paused for a shorter job: …"; "" otherwise. */
export function queueText(job: JobDescription | null | undefined): string {
  if (!job || !job.ahead.length) return "";
  const rows = job.ahead.map(aheadText).join("; ");
  if (job.state === "queued") {
    const n = job.ahead.length;
    return `waiting: ${n} job${n === 1 ? "" : "s"} ahead: ${rows}`;
  }
  return `paused for a shorter job: ${rows}`;
}
