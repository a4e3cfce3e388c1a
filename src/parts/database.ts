import type { Config } from "../config/config.js";
import type { Core } from "./core.js";
import type { Part } from "../lifecycle/lifecycle.js";
import type { SampleTarget } from "../registry/bot-registry.js";
import { StoreWriter } from "../store/write/store-writer.js";
import { storeObserver } from "../store/write/store-observer.js";
import { restorableBots, savedNotifyState } from "../store/read/queries.js";
import { DatabaseReader } from "../store/read/database-reader.js";
import { LlmRowFollower } from "../follow/llm-row-follower.js";
import { SpendWatch } from "../spend/spend-watch.js";
import { delay } from "../util/guard.js";
import { recordedChannels } from "../record/record-queries.js";
import type { RecordedChannel } from "../record/recorder.js";
import type { Clock } from "../util/clock.js";

/** The database's parts, or none with --no-db: the composition root wires either the same way. */
export interface DatabaseFeature {
  store: StoreWriter | undefined;
  reader: DatabaseReader | undefined;
  follower: LlmRowFollower | undefined;
  spend: SpendWatch | undefined;
  /** The notifier's state as the last run saved it (notify/notifier.ts). */
  notifyState: string | undefined;
  /** What the record last said of each channel (record/), for the recorder to go on from. */
  recorded: RecordedChannel[];
  /** Bots the last run knew, for the sampler to check before the first scrape. */
  restored: SampleTarget[];
  /** Opened while being built: stopped last (the final commit). */
  files: Part[];
  /** Started with the others that read or sample (the follower, spend). */
  readers: Part[];
  /** Resolves true once every message received so far is committed (1 s at most); false with no database. */
  flushed(): Promise<boolean>;
  /** What this run committed, set aside for the next start and lost (null fields with no database). */
  report(): StoreReport;
}

export interface StoreReport {
  dbWritten: number | null;
  dbCommittedRows: number | null;
  dbSetAsideRows: number | null;
  dbDropped: number | null;
  /** Accepted rows neither committed nor set aside (0 with no database: nothing was to be kept). */
  droppedRows: number;
}

/**
 * Persistence: restores the bots the last run knew, then keeps bot_status, llm_usage and
 * bot_metrics up to date (one commit a second), follows the bots' own llm_usage rows, and reads
 * spend. With --no-db, every part is absent and nothing is started.
 */
export async function databaseFeature(config: Config, core: Core, clock: Clock, onBackpressure: (full: boolean) => void): Promise<DatabaseFeature> {
  if (config.noDb) return { store: undefined, reader: undefined, follower: undefined, spend: undefined, notifyState: undefined, recorded: [], restored: [], files: [], readers: [], flushed: async () => false, report: () => ({ dbWritten: null, dbCommittedRows: null, dbSetAsideRows: null, dbDropped: null, droppedRows: 0 }) };
  const store = new StoreWriter({ path: config.db, retentionDays: config.retentionDays, usageRetentionDays: config.usageRetentionDays, recordRetentionDays: config.incidentRetentionDays, fileMode: config.fileMode, onBackpressure }, core.limitedLog, clock);
  const db = await store.open();
  const restored = db === undefined ? [] : core.registry.restore(restorableBots(db, clock.now()));
  const notifyState = db === undefined ? undefined : savedNotifyState(db);
  const recorded = db === undefined ? [] : recordedChannels(db);
  db?.close();
  // The API's reads run on their own thread, bounded in time: a slow database answers 503.
  const reader = new DatabaseReader({ path: config.db, timeoutMs: config.dbReadTimeoutMs });
  // The bots' own llm_usage rows (real KissBot bots write them straight into the file).
  // They are read on the reader's thread (one thread for every read of the database), and the
  // position past them is saved by the writer with its next commit.
  const follower = new LlmRowFollower({ path: config.db }, { follow: (a) => reader.read("follow", a), save: (position) => store.saveFollowPosition(position) }, core.ingest, core.limitedLog);
  core.registry.observe(storeObserver(store));
  core.ingest.observeSocketLlmUsage(store);
  // Spend of the day and month, from the database (so a restart resets nothing); the bridge's own
  // rows reach it as the writer commits them, not read back.
  const spend = new SpendWatch({ spend: (a) => reader.read("spend", a), idRange: (a) => reader.read("idRange", a), latency: (a) => reader.read("latency", a) }, clock, config.timezone);
  store.observeCommittedUsage(spend);
  return {
    store,
    reader,
    follower,
    spend,
    notifyState,
    recorded,
    restored,
    files: [
      { name: "store", start: () => store.start(), stop: () => store.close(2000) },
      { name: "reader", stop: () => reader.close() },
    ],
    readers: [
      { name: "follower", start: () => follower.start(), stop: () => follower.stop(1000) },
      { name: "spend", start: () => spend.start(), stop: () => spend.stop() },
    ],
    async flushed() {
      await Promise.race([store.flush(), delay(1000)]);
      return true;
    },
    report: () => ({ dbWritten: store.written.get("llm_usage"), dbCommittedRows: store.written.total(), dbSetAsideRows: store.setAside, dbDropped: store.dropped, droppedRows: store.dropped }),
  };
}
