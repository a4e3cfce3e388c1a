import { encodeLabels } from "./format.js";
import type { RenderSlot } from "./family.js";

/** What a series keeps between scrapes: its labels, encoded once, and its last lines per family. */
export interface SeriesRender {
  readonly labels: Uint8Array;
  readonly slots: RenderSlot[];
}

/**
 * Per-series render state for a set of series that several families render (the LLM usage
 * series: requests, tokens, latency, cost). The state array is aligned with the source's series
 * array and rebuilt only when that array changes (a series came or went), so a scrape walks both
 * with an index: no lookup per series and family, which measured as most of a large render.
 */
export class SeriesRenderCache<S extends object> {
  private readonly states = new WeakMap<S, SeriesRender>();
  private source: readonly S[] | undefined;
  private aligned: SeriesRender[] = [];
  private families = 0;

  constructor(private readonly labelsOf: (series: S) => Record<string, string>) {}

  /** A slot index for one more family; call for every family before the first scrape. */
  addFamily(): number {
    return this.families++;
  }

  /** The render state of each series of `series`, index for index. */
  align(series: readonly S[]): readonly SeriesRender[] {
    if (series !== this.source) {
      this.source = series;
      this.aligned = series.map((s) => {
        let state = this.states.get(s);
        if (state === undefined) {
          const slots = Array.from({ length: this.families }, () => ({ version: -1, bytes: undefined }));
          this.states.set(s, (state = { labels: encodeLabels(this.labelsOf(s)), slots }));
        }
        return state;
      });
    }
    return this.aligned;
  }
}
