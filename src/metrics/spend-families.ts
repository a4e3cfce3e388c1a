import { CATALOG } from "./catalog.js";
import { Family, type FamilyWriter } from "./family.js";
import { labelString } from "./format.js";
import { channelLimits, type BudgetTable } from "../spend/budget-file.js";
import type { SpendRow } from "../spend/spend-queries.js";
import type { SpendTotals } from "../spend/spend-watch.js";
import { periodStarts } from "../calendar/period.js";
import type { Clock } from "../util/clock.js";

/** What the spend and budget families read at scrape time. */
export interface SpendSources {
  clock: Clock;
  timeZone: string;
  /** Absent with --no-db. */
  spend?: { readAt: number | null; totals(by: "channel"): SpendTotals[]; rows(): Iterable<SpendRow> } | undefined;
  /** Absent without --budgets. */
  budgets?: { current: BudgetTable } | undefined;
  bots: { all(): Iterable<{ channel: string }> };
  /** channel × model × feature series of spend detail at most. */
  maxDetailSeries: number;
}

const PERIODS = [
  ["day", "today", "daily"],
  ["month", "month", "monthly"],
] as const;

/** Spend of the current day and month from the database, budgets, and when the periods turn. */
export function spendFamilies(s: SpendSources): Family[] {
  const byChannel = (pick: (t: SpendTotals, p: "today" | "month") => number) => (out: FamilyWriter) => {
    for (const t of s.spend?.totals("channel") ?? []) {
      for (const [period, field] of PERIODS) out.sample(labelString({ channel: t.key, period }), pick(t, field));
    }
  };
  return [
    new Family(CATALOG.llmSpend, byChannel((t, p) => (p === "today" ? t.cost_today_usd : t.cost_month_usd))),
    new Family(CATALOG.llmSpendRequests, byChannel((t, p) => (p === "today" ? t.calls_today : t.calls_month))),
    new Family(CATALOG.llmSpendTokens, byChannel((t, p) => (p === "today" ? t.tokens_today : t.tokens_month))),
    new Family(CATALOG.llmSpendDetail, (out) => {
      if (s.spend === undefined) return;
      const rows = [...s.spend.rows()].sort((a, b) => (b.cost_month_usd ?? 0) - (a.cost_month_usd ?? 0)).slice(0, s.maxDetailSeries);
      for (const r of rows) {
        out.sample(labelString({ channel: r.channel, model: r.model, feature: r.feature, period: "day" }), r.cost_today_usd ?? 0);
        out.sample(labelString({ channel: r.channel, model: r.model, feature: r.feature, period: "month" }), r.cost_month_usd ?? 0);
      }
    }),
    new Family(CATALOG.llmSpendPeriodStart, (out) => {
      const p = periodStarts(s.clock.now(), s.timeZone);
      out.sample(labelString({ period: "day" }), p.dayStartMs / 1000);
      out.sample(labelString({ period: "month" }), p.monthStartMs / 1000);
    }),
    new Family(CATALOG.llmSpendPeriodEnd, (out) => {
      const p = periodStarts(s.clock.now(), s.timeZone);
      out.sample(labelString({ period: "day" }), p.nextDayStartMs / 1000);
      out.sample(labelString({ period: "month" }), p.nextMonthStartMs / 1000);
    }),
    new Family(CATALOG.llmSpendRead, (out) => {
      const at = s.spend?.readAt;
      if (at !== undefined && at !== null) out.sample("", at / 1000);
    }),
    new Family(CATALOG.llmBudget, (out) => {
      const table = s.budgets?.current;
      if (table === undefined) return;
      // Every channel the bridge knows of, so rules can compare spend with budget per channel.
      const channels = new Set<string>(table.channels.keys());
      for (const b of s.bots.all()) channels.add(b.channel);
      for (const t of s.spend?.totals("channel") ?? []) channels.add(t.key);
      for (const channel of channels) {
        const l = channelLimits(table, channel);
        for (const [period, , limit] of PERIODS) {
          const v = l[limit];
          if (v !== null) out.sample(labelString({ channel, period }), v);
        }
      }
    }),
    new Family(CATALOG.llmFeatureBudget, (out) => {
      const table = s.budgets?.current;
      if (table === undefined) return;
      for (const [channel, c] of table.channels) {
        for (const [feature, l] of c.features) {
          for (const [period, , limit] of PERIODS) {
            const v = l[limit];
            if (v !== null) out.sample(labelString({ channel, feature, period }), v);
          }
        }
      }
    }),
  ];
}
