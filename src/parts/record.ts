import type { Config } from "../config/config.js";
import type { Core } from "./core.js";
import type { DatabaseFeature } from "./database.js";
import { intervalPart, type Part } from "../lifecycle/lifecycle.js";
import type { SnoozeBook } from "../notify/snoozes.js";
import { Recorder } from "../record/recorder.js";
import type { LiveRun } from "../record/record-queries.js";
import type { Clock } from "../util/clock.js";

/** A channel's state changes written in one UTC day at most before the rest of its day is one flapping interval. */
export const MAX_RECORDED_CHANGES_PER_DAY = 50;

export interface RecordFeature {
  recorder: Recorder | undefined;
  /** This run, for reads of the record to count up to now (null with --no-db). */
  live: LiveRun;
  parts: Part[];
  /** After the restored bots were looked at: the record agrees with the registry. */
  settle(): void;
}

/**
 * The record of every bot's state changes and snoozes (record/), kept through the store. Built
 * before the restored bots are looked at, so a bot found dead then is recorded like one that dies
 * later. With --no-db there is no record.
 */
export function recordFeature(config: Config, core: Core, db: DatabaseFeature, snoozes: SnoozeBook | undefined, clock: Clock): RecordFeature {
  const store = db.store;
  if (store === undefined) return { recorder: undefined, live: null, parts: [], settle: () => {} };
  const recorder = new Recorder(clock, (row) => store.recordChange(row), { maxChangesPerDay: MAX_RECORDED_CHANGES_PER_DAY, maxChannels: config.maxBots * 2 });
  recorder.restore(db.recorded);
  core.registry.observe(recorder.observer());
  snoozes?.observe((active) => recorder.snoozes(active));
  const follow = () => {
    if (snoozes !== undefined) recorder.snoozes(snoozes.active());
    recorder.tick();
  };
  return {
    recorder,
    live: { startedMs: store.runStartedMs },
    parts: [intervalPart("record", "record", 1000, follow)],
    settle: () => {
      recorder.sync(core.registry.all());
      follow();
    },
  };
}
