import type { RegistryObserver } from "../registry/bot-registry.js";
import type { DatabaseReader } from "../store/read/database-reader.js";
import type { BotHistoryView } from "../store/read/history-queries.js";
import type { LlmSeries } from "../usage/usage-book.js";
import type { CounterMap } from "../util/counter-map.js";
import type { Clock } from "../util/clock.js";
import { BotHistory } from "./bot-history.js";
import { CounterHistory } from "./counter-history.js";
import { LiveFeed } from "./live-feed.js";
import { StatusView, type StatusSources } from "./overview.js";
import { every } from "../util/guard.js";

export type StatusPageDeps = Omit<StatusSources, "history" | "messages" | "rejected" | "tokensByModel"> & {
  ingest: { accepted: CounterMap; rejected: CounterMap };
  usage: { llmSeries(): readonly LlmSeries[] };
  /** undefined with --no-db. */
  reader: DatabaseReader | undefined;
};

/** Counters are snapshotted this often for the page's rates (an hour of them is kept). */
const SNAPSHOT_MS = 10_000;

/**
 * The status page's stage: it watches the registry (sparklines, lifecycle events), snapshots
 * counters for rates, and serves the page and its live feed (spend comes from the SpendWatch
 * the metrics read too).
 */
export class StatusPage {
  readonly observer: RegistryObserver;
  /** What the status routes (http/status-routes.ts) read: the page's view, its live feed, one bot's history. */
  readonly routes: { view: StatusView; live: LiveFeed; history: ((channel: string, rangeMs: number) => Promise<BotHistoryView>) | undefined };
  private readonly histories: CounterHistory[];
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: StatusPageDeps) {
    const clock: Clock = deps.clock;
    const history = new BotHistory(clock);
    this.observer = history;
    const messages = new CounterHistory(clock, () => deps.ingest.accepted.entries());
    const rejected = new CounterHistory(clock, () => deps.ingest.rejected.entries());
    const tokensByModel = new CounterHistory(clock, function* () {
      for (const s of deps.usage.llmSeries()) yield [s.model, s.tokensIn + s.tokensOut] as [string, number];
    });
    this.histories = [messages, rejected, tokensByModel];
    const reader = deps.reader;
    const view = new StatusView({ ...deps, history, messages, rejected, tokensByModel });
    this.routes = {
      view,
      live: new LiveFeed(view),
      history: reader === undefined ? undefined : (channel, rangeMs) => reader.read("botHistory", { channel, nowMs: clock.now(), rangeMs }),
    };
  }

  start(): void {
    for (const h of this.histories) h.take();
    this.timer = every("status", SNAPSHOT_MS, () => {
      for (const h of this.histories) h.take();
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.routes.live.close();
  }
}


