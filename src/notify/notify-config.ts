import { isMap, isScalar, isSeq, type Node, type Pair } from "yaml";
import { readYamlFile, type At } from "../util/yaml-file.js";
import { ReloadableFile } from "../util/reloadable-file.js";
import { parseTarget, type NotifyTarget } from "./targets.js";
import { NOTIFY_EVENTS, type NotifyEvent } from "./routes.js";

const KEYS = ["url", "name", "channels", "events"] as const;
const CHANNEL_GLOB = /^[A-Za-z0-9_*?]{1,64}$/;
const LABEL = /^[\p{L}\p{N}_ .@+-]{1,64}$/u;
/** More than any fleet routes; a file past it is refused rather than read without end. */
const MAX_TARGETS = 200;

/** A routing file, read and checked: its targets, each with its route. */
export interface NotifyConfig {
  path: string;
  targets: NotifyTarget[];
}

class ConfigError extends Error {}

/**
 * Reads a routing file (--notify-config), a YAML list of targets:
 *
 *     - name: alice
 *       url: tgram://123:ABC/-1001
 *       channels: [alice_tv, "alice_*"]
 *       events: [down, resolved, flapping]
 *     - url: mailtos://ops:pw@smtp.example.org?to=ops@example.org
 *       events: [spend, digest]
 *
 * `url` is any --notify form; without `channels` a target hears of every channel, without
 * `events` of every event. (`targets:` above the list is accepted too.) Throws an Error naming
 * the file, the line and what is wrong, never a URL: it holds secrets.
 */
export function loadNotifyConfig(path: string): NotifyConfig {
  const { doc, at } = readYamlFile(path);
  try {
    let root = doc.contents as Node | null;
    if (isMap(root)) {
      const keys = root.items.map((p) => keyOf(p, at));
      const unknown = keys.find((k) => k !== "targets");
      if (unknown !== undefined) throw new ConfigError(`${at(root.items[keys.indexOf(unknown)]!.key as Node)}: unknown key ${JSON.stringify(unknown)} (expected a list of targets, or targets:)`);
      root = (root.items[0]?.value ?? null) as Node | null;
    }
    if (root === null) return { path, targets: [] };
    if (!isSeq(root)) throw new ConfigError(`${at(root)}: expected a list of targets (- url: …)`);
    if (root.items.length > MAX_TARGETS) throw new ConfigError(`${at(root)}: ${root.items.length} targets, more than ${MAX_TARGETS}`);
    const targets: NotifyTarget[] = [];
    const seen = new Map<string, string>();
    const labels = new Map<string, string>();
    for (const [i, item] of root.items.entries()) {
      for (const t of entry(item as Node, i, at)) {
        const where = at(item as Node);
        const before = seen.get(t.id);
        if (before !== undefined) throw new ConfigError(`${where}: the same target as at ${before.replace(`${path} `, "")} (one entry per URL; list its channels and events there)`);
        seen.set(t.id, where);
        if (t.label !== null) {
          const other = labels.get(t.label);
          if (other !== undefined && other !== where) throw new ConfigError(`${where}: name ${JSON.stringify(t.label)} is already used at ${other.replace(`${path} `, "")}`);
          labels.set(t.label, where);
        }
        targets.push(t);
      }
    }
    return { path, targets };
  } catch (err) {
    if (err instanceof ConfigError) throw new Error(err.message);
    throw err;
  }
}

function keyOf(pair: Pair, at: At): string {
  if (!isScalar(pair.key) || typeof pair.key.value !== "string") throw new ConfigError(`${at(pair.key as Node)}: keys must be names`);
  return pair.key.value;
}

function strings(node: Node | null, what: string, at: At): string[] {
  if (isScalar(node) && typeof node.value === "string") return [node.value];
  if (!isSeq(node)) throw new ConfigError(`${at(node)}: ${what} must be a list`);
  return node.items.map((n) => {
    if (!isScalar(n) || (typeof n.value !== "string" && typeof n.value !== "number")) throw new ConfigError(`${at(n as Node)}: ${what} must be a list of names`);
    return String(n.value);
  });
}

/** One entry of the list: the targets of its URL (a Telegram URL may name several chats). */
function entry(node: Node, i: number, at: At): NotifyTarget[] {
  const what = `target ${i + 1}`;
  if (!isMap(node)) throw new ConfigError(`${at(node)}: ${what} must be a mapping with url (and name, channels, events)`);
  let url: string | undefined;
  let label: string | null = null;
  let channels: string[] | null = null;
  let events: Set<NotifyEvent> | null = null;
  for (const pair of node.items) {
    const key = keyOf(pair, at);
    const value = pair.value as Node | null;
    const here = at((value ?? pair.key) as Node);
    if (key === "url") {
      if (!isScalar(value) || typeof value.value !== "string") throw new ConfigError(`${here}: ${what}'s url must be a string`);
      url = value.value.trim();
    } else if (key === "name") {
      const v = isScalar(value) ? String(value.value ?? "") : "";
      if (!LABEL.test(v)) throw new ConfigError(`${here}: ${what}'s name must be 1 to 64 letters, digits, spaces or _ . @ + -`);
      label = v;
    } else if (key === "channels") {
      channels = strings(value, `${what}'s channels`, at);
      if (channels.length === 0) throw new ConfigError(`${here}: ${what} lists no channel (leave channels out for every channel)`);
      const bad = channels.find((c) => !CHANNEL_GLOB.test(c));
      if (bad !== undefined) throw new ConfigError(`${here}: ${JSON.stringify(bad)} is not a channel name or pattern (letters, digits, _ and the wildcards * and ?)`);
    } else if (key === "events") {
      const list = strings(value, `${what}'s events`, at);
      const bad = list.find((e) => !(NOTIFY_EVENTS as readonly string[]).includes(e));
      if (bad !== undefined) throw new ConfigError(`${here}: unknown event ${JSON.stringify(bad)} (expected ${NOTIFY_EVENTS.join(", ")})`);
      if (list.length === 0) throw new ConfigError(`${here}: ${what} lists no event (leave events out for every event)`);
      events = new Set(list as NotifyEvent[]);
    } else throw new ConfigError(`${at(pair.key as Node)}: unknown key ${JSON.stringify(key)} in ${what} (expected ${KEYS.join(", ")})`);
  }
  if (url === undefined) throw new ConfigError(`${at(node)}: ${what} has no url`);
  let parsed: NotifyTarget[];
  try {
    parsed = parseTarget(url);
  } catch (err) {
    throw new ConfigError(`${at(node.get("url", true) as Node)}: ${what}'s url: ${(err as Error).message}`);
  }
  const route = { channels, events };
  return parsed.map((t) => ({ ...t, label, name: label === null ? t.name : `${label} (${t.name})`, route }));
}

/** The routing file in use, replaced whole on SIGHUP; a file that fails to load leaves it as it was. */
export class ReloadableNotifyConfig extends ReloadableFile<NotifyConfig> {
  constructor(config: NotifyConfig) {
    super(config, loadNotifyConfig);
  }
}

/** Every target: --notify's (every channel, every event) and the routing file's, which wins for a URL in both. */
export function allTargets(flagged: readonly NotifyTarget[], file: NotifyConfig | undefined): NotifyTarget[] {
  const byId = new Map<string, NotifyTarget>();
  for (const t of [...flagged, ...(file?.targets ?? [])]) byId.set(t.id, t);
  return [...byId.values()];
}
