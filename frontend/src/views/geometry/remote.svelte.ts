/** One GET at a time for a chart: the latest URL wins, stale answers are dropped (not aborted,
 * so the browser logs no failed request), and the state a template needs is reactive. */
import { fetchAnalysis, type JobDescription, type Progress } from "../../lib/api";

export type RemoteState = "idle" | "loading" | "ok" | "error";

export class Remote<T> {
  url = $state<string | null>(null);
  state = $state<RemoteState>("idle");
  data = $state.raw<T | null>(null);
  message = $state("");
  progress = $state.raw<Progress | null>(null);
  /** The server job computing `url`, while there is one (its queue place, Cancel button). */
  job = $state.raw<JobDescription | null>(null);

  /** Whether the URLs are long analyses, started by POST (stored ones answer at once). */
  readonly start: boolean;

  constructor(opts: { start?: boolean } = {}) {
    this.start = opts.start ?? false;
  }

  /** Fetch `url` unless it is already loaded or loading; null clears. Call inside untrack(). */
  load(url: string | null): void {
    if (url === this.url && this.state !== "error") return;
    this.url = url;
    this.data = null;
    this.message = "";
    this.progress = null;
    this.job = null;
    if (url === null) {
      this.state = "idle";
      return;
    }
    this.state = "loading";
    fetchAnalysis<T>(url, {
      start: this.start,
      onProgress: (p, job) => {
        if (this.url !== url) return;
        this.progress = p;
        this.job = job;
      },
    })
      .then((d) => {
        if (this.url !== url) return;
        this.data = d;
        this.job = null;
        this.state = "ok";
      })
      .catch((e: unknown) => {
        if (this.url !== url) return;
        this.message = e instanceof Error ? e.message : String(e);
        this.job = null;
        this.state = "error";
      });
  }
}
