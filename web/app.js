// The status page. Everything a bot sends (channel, model, feature names) is put in the page as
// text (textContent), never as markup; the Content-Security-Policy allows no inline script.
"use strict";

const STATUS_ORDER = { dead: 0, stale: 1, online: 2 };
const $ = (id) => document.getElementById(id);
const state = {
  bots: new Map(), // channel → row (GET /api/v1/bots row)
  rows: new Map(), // channel → <tr>
  offsetMs: 0, // server clock − browser clock
  overview: null,
  range: "1h",
  botTimer: undefined,
  strips: new Map(), // channel → bars of the last 90 days (GET /api/v1/availability/days)
  days: [], // their dates, oldest first
};

// ---- formatting -------------------------------------------------------------------------
function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}
const pct = (ratio) => (ratio === null || ratio === undefined ? "–" : `${(ratio * 100).toFixed(1)}%`);
const mb = (bytes) => (bytes === null || bytes === undefined ? "–" : `${(bytes / 1048576).toFixed(1)} MB`);
const usd = (x) => (x === null || x === undefined ? "–" : x === 0 ? "$0" : x < 0.01 ? `$${x.toPrecision(2)}` : `$${x.toFixed(2)}`);
const int = (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));
const ms = (x) => (x === null || x === undefined ? "–" : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);
const now = () => Date.now() + state.offsetMs;

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function fillTable(table, rows, cells) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows.map((r) => el("tr", {}, ...cells(r).map(([text, cls]) => el("td", { text, class: cls ?? "" })))));
}

// ---- charts (uPlot) -----------------------------------------------------------------------
function colour(i) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--chart-${(i % 6) + 1}`).trim() || "#888";
}
function axisColour() {
  return getComputedStyle(document.documentElement).getPropertyValue("--muted").trim() || "#888";
}

/** A chart in `box`, replaced whole on every call; the box records how many points it shows. */
/** Tick steps for counts: whole numbers only, so an axis never reads "1, 1, 1" for 0.5, 1, 1.5. */
const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7];

/** The y axis as wide as its longest label (a fixed 60 px cut "200,000" to "00,000"). */
function axisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values ?? []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
  if (longest !== "") {
    u.ctx.font = axis.font[0];
    size += u.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size) + 4;
}

function chart(box, xs, series, { valueFormat = (v) => v, stepped = false, xRange, counts = false } = {}) {
  box.replaceChildren();
  const points = xs.length === 0 ? 0 : series.reduce((n, s) => n + s.values.filter((v) => v !== null && v !== undefined).length, 0);
  box.dataset.points = String(points);
  if (points === 0) return void box.append(el("p", { class: "note", text: "No data in this range yet." }));
  if (typeof uPlot === "undefined") return;
  const width = Math.max(240, box.clientWidth || 320);
  const axis = { stroke: axisColour(), grid: { stroke: "rgba(128,128,128,0.15)" }, ticks: { stroke: "rgba(128,128,128,0.3)" } };
  const opts = {
    width,
    height: 200,
    scales: { x: xRange === undefined ? { time: true } : { time: true, range: () => xRange } },
    axes: [{ ...axis }, { ...axis, values: (_u, vals) => vals.map(valueFormat), size: axisSize, ...(counts ? { incrs: WHOLE_STEPS } : {}) }],
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colour(i), width: 1.5, points: { show: xs.length < 3 }, fill: series.length === 1 ? `${colour(i)}22` : undefined, paths: stepped ? uPlot.paths.stepped({ align: 1 }) : undefined, value: (_u, v) => (v === null ? "–" : valueFormat(v)) }))],
    legend: { show: series.length > 1 || series.some((s) => s.label) },
    cursor: { drag: { x: false, y: false } },
  };
  // Kept on its box: the browser test checks that no axis label is cut.
  box.uplot = new uPlot(opts, [xs, ...series.map((s) => s.values)], box);
}

function sparkline(box, xs, ys) {
  box.replaceChildren();
  box.dataset.points = String(ys.filter((v) => v !== null).length);
  if (typeof uPlot === "undefined" || xs.length === 0) return;
  new uPlot(
    { width: 110, height: 26, pxAlign: false, cursor: { show: false }, select: { show: false }, legend: { show: false }, scales: { x: { time: false } }, axes: [{ show: false }, { show: false }], series: [{}, { stroke: colour(0), width: 1, fill: `${colour(0)}33`, points: { show: false } }] },
    [xs, ys],
    box,
  );
}

// Sparklines are drawn only for rows on screen: a fleet of 1,000 bots costs what a screenful does.
const sparkObserver = new IntersectionObserver((entries) => {
  for (const e of entries) {
    if (!e.isIntersecting) continue;
    const tr = e.target;
    if (tr.dataset.sparkDrawn === tr.dataset.sparkKey) continue;
    const row = state.bots.get(tr.dataset.channel);
    if (row === undefined) continue;
    sparkline(tr.querySelector(".spark.cpu"), row.spark.t, row.spark.cpu.map((v) => (v === null ? null : v * 100)));
    sparkline(tr.querySelector(".spark.rss"), row.spark.t, row.spark.rss.map((v) => (v === null ? null : v / 1048576)));
    tr.dataset.sparkDrawn = tr.dataset.sparkKey;
  }
});

// ---- the bots table -----------------------------------------------------------------------
function statusCell(status) {
  return el("span", { class: "status", text: status, dataset: { status } });
}

/** A planned outage: no alert until its end. */
function snoozeBadge(row) {
  if (row.snooze === null || row.snooze === undefined) return [];
  const until = new Date(row.snooze.until);
  const title = `snoozed until ${until.toLocaleString()}${row.snooze.reason === "" ? "" : `: ${row.snooze.reason}`}`;
  return [el("span", { class: "snoozed", text: `snoozed until ${until.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`, title })];
}

function features(row) {
  if (row.features === null) return "–";
  const on = Object.entries(row.features).filter(([, v]) => v).map(([k]) => k);
  return on.length === 0 ? "none" : on.join(", ");
}

function heartbeatAge(row) {
  const since = row.last_heartbeat ?? row.registered_at;
  return since === null ? null : (now() - Date.parse(since)) / 1000;
}
function uptime(row) {
  return row.status === "dead" || row.registered_at === null ? null : (now() - Date.parse(row.registered_at)) / 1000;
}

function makeRow(channel) {
  const tr = el("tr", { class: "bot", dataset: { channel } });
  const cells = ["c-channel", "c-status", "c-pid num", "c-uptime num", "c-age num", "c-cpu num", "spark-cell", "c-rss num", "spark-cell", "c-features wide", "c-calls num", "c-cost num", "c-strip"];
  for (const c of cells) tr.append(el("td", { class: c }));
  tr.children[6].append(el("div", { class: "spark cpu" }));
  tr.children[8].append(el("div", { class: "spark rss" }));
  tr.children[12].append(el("div", { class: "strip", dataset: { channel } }));
  renderStrip(tr.children[12].firstChild, channel);
  const a = el("a", { href: `/bot/${encodeURIComponent(channel)}`, text: channel });
  tr.children[0].append(a);
  tr.addEventListener("click", (ev) => {
    if (ev.target.closest("a") === null) navigate(`/bot/${encodeURIComponent(channel)}`);
  });
  a.addEventListener("click", (ev) => {
    ev.preventDefault();
    navigate(`/bot/${encodeURIComponent(channel)}`);
  });
  sparkObserver.observe(tr);
  return tr;
}

function updateRow(tr, row) {
  const c = tr.children;
  c[1].replaceChildren(statusCell(row.status), ...snoozeBadge(row));
  c[2].textContent = String(row.pid);
  c[5].textContent = pct(row.cpu_ratio);
  c[7].textContent = mb(row.rss_bytes);
  c[9].textContent = features(row);
  c[10].textContent = row.llm_today === null ? "–" : int(row.llm_today.calls);
  c[11].textContent = row.llm_today === null ? "–" : row.llm_today.budget_usd === null ? usd(row.llm_today.cost_usd) : `${usd(row.llm_today.cost_usd)} of ${usd(row.llm_today.budget_usd)}`;
  c[11].dataset.over = String(row.llm_today !== null && row.llm_today.budget_usd !== null && row.llm_today.cost_usd >= 0.8 * row.llm_today.budget_usd);
  tr.dataset.status = row.status;
  tr.dataset.sparkKey = `${row.spark.t.at(-1) ?? 0}:${row.spark.t.length}:${row.status}`;
  tickRow(tr, row);
  // Redrawn when next on screen.
  sparkObserver.unobserve(tr);
  sparkObserver.observe(tr);
}

function tickRow(tr, row) {
  tr.children[3].textContent = duration(uptime(row));
  tr.children[4].textContent = duration(heartbeatAge(row));
}

function order(a, b) {
  return STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.channel.localeCompare(b.channel);
}

function renderBots() {
  const body = $("bots").tBodies[0];
  const sorted = [...state.bots.values()].sort(order);
  const wanted = sorted.map((r) => state.rows.get(r.channel));
  // Re-ordered only when the order changed, so a diff touches few nodes.
  if (wanted.length !== body.children.length || wanted.some((tr, i) => body.children[i] !== tr)) body.replaceChildren(...wanted);
  applyFilter();
  const counts = { online: 0, stale: 0, dead: 0 };
  for (const r of state.bots.values()) counts[r.status]++;
  $("summary").textContent = `${state.bots.size} bots: ${counts.online} online, ${counts.stale} stale, ${counts.dead} dead`;
  $("no-bots").hidden = state.bots.size > 0;
}

function upsert(row) {
  let tr = state.rows.get(row.channel);
  if (tr === undefined) {
    state.rows.set(row.channel, (tr = makeRow(row.channel)));
    // A bot not seen before: its strip is read soon (a burst of new bots costs one read).
    if (!state.strips.has(row.channel)) scheduleStrips(1000);
  }
  state.bots.set(row.channel, row);
  updateRow(tr, row);
}

function remove(channel) {
  const tr = state.rows.get(channel);
  if (tr !== undefined) {
    sparkObserver.unobserve(tr);
    tr.remove();
  }
  state.rows.delete(channel);
  state.bots.delete(channel);
}

function applyFilter() {
  const text = $("filter").value.trim().toLowerCase();
  const status = $("status-filter").value;
  for (const [channel, tr] of state.rows) {
    const row = state.bots.get(channel);
    tr.hidden = (text !== "" && !channel.toLowerCase().includes(text)) || (status !== "" && row.status !== status);
  }
}

// ---- availability strips --------------------------------------------------------------------
const pct2 = (r) => (r === null || r === undefined ? "–" : `${(Math.floor(r * 10000) / 100).toFixed(2)}%`);
function levelOf(a) {
  if (a === null) return "none";
  if (a >= 0.999) return "full";
  if (a >= 0.99) return "high";
  if (a >= 0.95) return "mid";
  if (a >= 0.9) return "low";
  return "bad";
}
function barText(day, bar) {
  if (bar.availability === null) return `${day}: nothing observed`;
  const inc = bar.incidents === 0 ? "no incident" : bar.incidents === 1 ? "1 incident" : `${bar.incidents} incidents`;
  return `${day}: ${pct2(bar.availability)} up (down ${duration(bar.down_seconds)}), ${inc}`;
}

/** One bar a day into `box` for the channel, from the last strips read (grey while none are known). */
function renderStrip(box, channel) {
  if (box === null) return;
  const bars = state.strips.get(channel);
  const days = state.days;
  const n = days.length || 90;
  if (box.children.length !== n) box.replaceChildren(...Array.from({ length: n }, () => el("span")));
  for (let i = 0; i < n; i++) {
    const span = box.children[i];
    const bar = bars?.[i] ?? { availability: null, incidents: 0, down_seconds: 0 };
    const text = days[i] === undefined ? "not read yet" : barText(days[i], bar);
    span.dataset.level = levelOf(bar.availability);
    span.dataset.text = text;
    span.setAttribute("aria-label", text);
  }
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", bars === undefined ? "availability not read yet" : `availability of the last ${n} days`);
}

let stripsTimer;
function scheduleStrips(ms) {
  clearTimeout(stripsTimer);
  stripsTimer = setTimeout(() => void loadStrips(), ms);
}
async function loadStrips() {
  try {
    const s = await getJson("/api/v1/availability/days?days=90");
    state.days = s.days;
    state.strips = new Map(s.channels.map((c) => [c.channel, c.bars]));
  } catch {
    // no database (--no-db), or busy: the strips stay grey and are read again
  }
  for (const [channel, tr] of state.rows) renderStrip(tr.querySelector(".strip"), channel);
  const m = /^\/bot\/([^/]+)$/.exec(location.pathname);
  if (m !== null) renderStrip($("bot-strip"), decodeURIComponent(m[1]));
  // A day's bar changes slowly: read again every minute.
  scheduleStrips(60000);
}

/** Hovering a bar (or tapping it, on a phone) shows its day, availability and incidents. */
function showTip(span) {
  const tip = $("bar-tip");
  for (const x of document.querySelectorAll('.strip > span[aria-current="true"]')) x.removeAttribute("aria-current");
  if (span === null) return void (tip.hidden = true);
  span.setAttribute("aria-current", "true");
  tip.textContent = span.dataset.text ?? "";
  tip.hidden = false;
  const r = span.getBoundingClientRect();
  const w = tip.offsetWidth;
  tip.style.left = `${Math.max(4, Math.min(window.innerWidth - w - 4, r.left + r.width / 2 - w / 2))}px`;
  tip.style.top = `${r.top > 48 ? r.top - tip.offsetHeight - 6 : r.bottom + 6}px`;
}
document.addEventListener("mouseover", (ev) => {
  const span = ev.target.closest?.(".strip > span") ?? null;
  if (span !== null || !$("bar-tip").hidden) showTip(span);
});
document.addEventListener("click", (ev) => {
  const span = ev.target.closest?.(".strip > span") ?? null;
  if (span !== null) {
    // A tap on a bar shows it; it does not open the bot's page under it.
    ev.stopPropagation();
    ev.preventDefault();
  }
  showTip(span);
}, true);

// ---- LLM and bridge sections ----------------------------------------------------------------
function renderOverview(o) {
  state.overview = o;
  state.offsetMs = o.server_time_ms - Date.now();
  $("version").textContent = `kissbot-bridge ${o.bridge.version}`;
  if (!$("overview").hidden) renderLlm(o.llm);
  renderBridge(o.bridge);
}

let tokensKey = "";
function renderLlm(llm) {
  const t = llm.tokens_per_minute;
  const key = JSON.stringify(t);
  if (key !== tokensKey) {
    tokensKey = key;
    const models = Object.keys(t.series).sort();
    // The whole hour on the time axis: one minute of calls alone would otherwise span years.
    const to = now() / 1000;
    chart($("tokens-chart"), t.t, models.map((m) => ({ label: m, values: t.series[m] })), { valueFormat: (v) => int(v), xRange: [to - 3600, to] });
  }
  const spend = llm.spend;
  if (spend === null) {
    $("spend-note").textContent = "No database (--no-db): spend is read from llm_usage.";
  } else {
    const asOf = spend.as_of === null ? "not read yet" : `read ${duration((now() - Date.parse(spend.as_of)) / 1000)} ago`;
    $("spend-note").textContent = `From llm_usage (the bridge's rows and the bots' own); today since ${new Date(spend.day_start).toLocaleString()}; ${asOf}${spend.error ? `; last read failed: ${spend.error}` : ""}.`;
    const spendCells = (r) => [[r.key], [int(r.calls_today), "num"], [usd(r.cost_today_usd), "num"], [usd(r.cost_month_usd), "num"]];
    const ofBudget = (x, budget) => (budget === null || budget === undefined ? usd(x) : `${usd(x)} of ${usd(budget)}`);
    fillTable($("spend-channel"), spend.by_channel, (r) => [[r.key], [int(r.calls_today), "num"], [ofBudget(r.cost_today_usd, r.budget_today_usd), "num"], [ofBudget(r.cost_month_usd, r.budget_month_usd), "num"]]);
    fillTable($("spend-model"), spend.by_model, spendCells);
    fillTable($("spend-feature"), spend.by_feature, spendCells);
  }
  fillTable($("latency"), llm.latency_by_model, (r) => [[r.key], [int(r.calls), "num"], [ms(r.p50_latency_ms), "num"], [ms(r.p95_latency_ms), "num"]]);
  const unpriced = Object.entries(llm.unpriced_by_model).sort((a, b) => b[1] - a[1]);
  fillTable($("unpriced"), unpriced, ([model, n]) => [[model], [int(n), "num"]]);
  $("unpriced").hidden = unpriced.length === 0;
  $("unpriced-none").hidden = unpriced.length > 0;
}

function renderBridge(b) {
  const facts = [
    ["Version", b.version],
    ["Up for", duration(b.uptime_seconds)],
    ["Socket", b.socket],
    ["Open connections", String(b.open_connections)],
    ["Messages per second", Object.entries(b.messages_per_second).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ") || "none in the last minute"],
    ["Rejected lines, last hour", Object.entries(b.rejected_last_hour).map(([k, v]) => `${k} ${int(v)}`).join(", ") || "none"],
  ];
  if (b.database === null) facts.push(["Database", "off (--no-db)"]);
  else {
    const errors = Object.entries(b.database.errors).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(", ");
    facts.push(["Database", `${b.database.writable ? "writable" : "NOT WRITABLE"}; rows queued: ${int(b.database.queued_rows)}; last commit ${b.database.last_commit_at === null ? "none yet" : `${duration((now() - Date.parse(b.database.last_commit_at)) / 1000)} ago`}; errors: ${errors || "none"}; rows dropped: ${int(b.database.dropped_rows)}`]);
  }
  facts.push(["OTLP export", b.otlp === null ? "off" : `${b.otlp.last_result ?? "no export yet"} (${int(b.otlp.successes)} ok, ${int(b.otlp.failures)} failed)`]);
  if (b.notifications === null) facts.push(["Notifications", "off (--notify)"]);
  else {
    const targets = b.notifications.targets.map((t) => {
      const last = t.last_error === null ? "no error" : `last error ${duration((now() - Date.parse(t.last_error.at)) / 1000)} ago: ${t.last_error.message}`;
      return `${t.name}: ${t.last_sent_at === null ? "nothing sent yet" : `last sent ${duration((now() - Date.parse(t.last_sent_at)) / 1000)} ago`}; ${int(t.queued)} waiting; ${last}`;
    });
    facts.push(["Notifications", `${int(b.notifications.firing)} firing. ${targets.join(" · ")}`]);
  }
  $("bridge").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
}

// ---- one bot ------------------------------------------------------------------------------
async function getJson(url) {
  const res = await fetch(url, { headers: { accept: "application/json" } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

async function showBot(channel) {
  $("overview").hidden = true;
  $("botview").hidden = false;
  $("bot-title").textContent = channel;
  document.title = `${channel} · KissBot fleet`;
  for (const b of document.querySelectorAll("[data-range]")) b.setAttribute("aria-pressed", String(b.dataset.range === state.range));
  renderStrip($("bot-strip"), channel);
  await Promise.all([loadBot(channel), loadHistory(channel), loadAvailability(channel)]);
  clearInterval(state.botTimer);
  // The page stays live: its facts, events, charts and tables are read again while it is open.
  state.botTimer = setInterval(() => {
    if ($("botview").hidden) return;
    void loadBot(channel);
    void loadHistory(channel);
    void loadAvailability(channel);
  }, 5000);
}

async function loadBot(channel) {
  let found;
  try {
    found = await getJson(`/api/v1/bots/${encodeURIComponent(channel)}`);
  } catch (err) {
    $("bot-status").replaceChildren(el("span", { text: `unknown here now (${err.message})` }));
    $("bot-facts").replaceChildren();
    $("bot-events").replaceChildren();
    return;
  }
  const row = state.bots.get(channel) ?? found.bot;
  if (row !== null && row !== undefined) {
    $("bot-status").replaceChildren(statusCell(row.status), ...snoozeBadge(row));
    const facts = [
      ["PID", String(row.pid)],
      ["Registered", row.registered_at ?? "–"],
      ["Uptime", duration(uptime(row))],
      ["Last heartbeat", `${duration(heartbeatAge(row))} ago`],
      ["CPU", pct(row.cpu_ratio)],
      ["RSS", mb(row.rss_bytes)],
      ["Features", features(row)],
      ["Alerts", row.snooze === null || row.snooze === undefined ? "on" : `snoozed until ${new Date(row.snooze.until).toLocaleString()}${row.snooze.reason === "" ? "" : ` (${row.snooze.reason})`}`],
      ["LLM today", row.llm_today === null ? "–" : `${int(row.llm_today.calls)} calls, ${usd(row.llm_today.cost_usd)}${row.llm_today.budget_usd === null ? "" : ` of a ${usd(row.llm_today.budget_usd)} daily budget`}`],
    ];
    $("bot-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  } else {
    $("bot-status").replaceChildren(el("span", { text: "not running (unregistered)" }));
    $("bot-facts").replaceChildren();
  }
  $("bot-events").replaceChildren(...found.events.map((e) => el("li", {}, el("time", { datetime: new Date(e.at).toISOString(), text: new Date(e.at).toLocaleString() }), el("strong", { text: e.event }), ` pid ${e.pid}: ${e.detail}`)));
}

const PERIOD_NAMES = { "24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days", this_month: "This month", last_month: "Last month" };

async function loadAvailability(channel) {
  let a;
  try {
    a = await getJson(`/api/v1/bots/${encodeURIComponent(channel)}/availability`);
  } catch (err) {
    $("bot-availability-note").textContent = `Availability unavailable: ${err.message}`;
    return;
  }
  fillTable($("bot-availability"), a.periods, (p) => [[PERIOD_NAMES[p.period] ?? p.period], [pct2(p.availability), "num"], [duration(p.down_seconds), "num"], [int(p.incidents), "num"], [p.incidents === 0 ? "–" : duration(p.longest_down_seconds), "num"]]);
  $("bot-availability-note").textContent = `Up ÷ (up + down); time stopped, snoozed or with no bridge running counts neither way. Months in ${a.timezone}.`;
  // 2026-12-03 02:22: short enough for a phone's column.
  const when = (iso) => (iso === null ? "ongoing" : new Date(iso).toLocaleString("sv-SE", { dateStyle: "short", timeStyle: "short" }));
  fillTable($("bot-incidents"), a.incidents, (i) => [[when(i.start)], [when(i.end)], [duration(i.duration_seconds), "num"], [i.cause]]);
  $("bot-incidents").hidden = a.incidents.length === 0;
  $("bot-incidents-none").hidden = a.incidents.length > 0;
}

async function loadHistory(channel) {
  let h;
  try {
    h = await getJson(`/api/v1/bots/${encodeURIComponent(channel)}/history?range=${state.range}`);
    $("bot-history-note").textContent = `From the database, in ${duration(h.bucket_seconds)} intervals.`;
  } catch (err) {
    $("bot-history-note").textContent = `History unavailable: ${err.message}`;
    h = { resources: { t: [], cpu_ratio: [], rss_bytes: [] }, llm: { t: [], calls: [], tokens: [], cost_usd: [] }, by_model: [], by_feature: [] };
  }
  // The whole range on the time axis, however few points it holds.
  const to = now() / 1000;
  const xRange = [to - (h.range_seconds ?? 3600), to];
  chart($("cpu-chart"), h.resources.t, [{ values: h.resources.cpu_ratio.map((v) => (v === null ? null : v * 100)) }], { valueFormat: (v) => `${v.toFixed(1)}%`, xRange });
  chart($("rss-chart"), h.resources.t, [{ values: h.resources.rss_bytes.map((v) => (v === null ? null : v / 1048576)) }], { valueFormat: (v) => v.toFixed(1), xRange });
  chart($("llm-chart"), h.llm.t, [{ label: "calls", values: h.llm.calls }, { label: "tokens / 100", values: h.llm.tokens.map((v) => v / 100) }], { valueFormat: (v) => int(v), stepped: true, xRange, counts: true });
  const cells = (r) => [[r.key], [int(r.calls), "num"], [int(r.tokens_in + r.tokens_out), "num"], [ms(r.p50_latency_ms), "num"], [ms(r.p95_latency_ms), "num"], [usd(r.cost_usd), "num"]];
  fillTable($("bot-models"), h.by_model, cells);
  fillTable($("bot-features"), h.by_feature, cells);
}

// ---- navigation and the live feed -----------------------------------------------------------
function route() {
  clearInterval(state.botTimer);
  const m = /^\/bot\/([^/]+)$/.exec(location.pathname);
  if (m !== null) return void showBot(decodeURIComponent(m[1]));
  $("botview").hidden = true;
  $("overview").hidden = false;
  document.title = "KissBot fleet";
  if (state.overview !== null) renderLlm(state.overview.llm);
}

function navigate(path) {
  history.pushState(null, "", path);
  route();
}

function connect() {
  const live = new EventSource("/api/v1/live");
  live.addEventListener("open", () => {
    $("banner").hidden = true;
    $("connection").dataset.state = "live";
    $("connection").textContent = "live";
  });
  live.addEventListener("error", () => {
    $("banner").hidden = false;
    $("connection").dataset.state = "lost";
    $("connection").textContent = "reconnecting…";
  });
  live.addEventListener("bots", (e) => {
    const rows = JSON.parse(e.data);
    const seen = new Set(rows.map((r) => r.channel));
    for (const c of [...state.bots.keys()]) if (!seen.has(c)) remove(c);
    for (const r of rows) upsert(r);
    renderBots();
  });
  live.addEventListener("diff", (e) => {
    const d = JSON.parse(e.data);
    for (const c of d.remove) remove(c);
    for (const r of d.upsert) upsert(r);
    renderBots();
  });
  live.addEventListener("overview", (e) => renderOverview(JSON.parse(e.data)));
}

$("filter").addEventListener("input", applyFilter);
$("status-filter").addEventListener("change", applyFilter);
$("back").addEventListener("click", (ev) => {
  ev.preventDefault();
  navigate("/");
});
for (const b of document.querySelectorAll("[data-range]")) {
  b.addEventListener("click", () => {
    state.range = b.dataset.range;
    for (const x of document.querySelectorAll("[data-range]")) x.setAttribute("aria-pressed", String(x === b));
    const m = /^\/bot\/([^/]+)$/.exec(location.pathname);
    if (m !== null) void loadHistory(decodeURIComponent(m[1]));
  });
}
window.addEventListener("popstate", route);
setInterval(() => {
  for (const [channel, tr] of state.rows) if (!tr.hidden) tickRow(tr, state.bots.get(channel));
}, 1000);
connect();
route();
void loadStrips();
