import type { NotifyTarget } from "./targets.js";
import { requestJson, type PostResult } from "./http-post.js";

/** Room ids found for aliases, by target id: an alias is looked up once, not per message. */
const rooms = new Map<string, string>();
/** More targets than anyone configures; past it the cache starts again (a lookup costs one request). */
const MAX_ROOMS = 1000;

/**
 * Sends a message to a Matrix room (client-server API v3). The room's alias is resolved first
 * (GET /directory/room). The PUT's transaction id is the message's own id, the same on every
 * retry, so a message whose answer was lost arrives once: the homeserver answers a transaction it
 * already has with the event it made then.
 */
export async function sendMatrix(target: NotifyTarget, body: string, messageId: string, timeoutMs: number, userAgent: string): Promise<PostResult> {
  const base = target.url.replace(/\/$/, "");
  const room = target.fields["room"] ?? "";
  let roomId = room.startsWith("!") ? room : rooms.get(target.id);
  if (roomId === undefined) {
    const r = await requestJson("GET", `${base}/_matrix/client/v3/directory/room/${encodeURIComponent(room)}`, undefined, timeoutMs, userAgent, target.headers);
    if (r.status < 200 || r.status >= 300) return { ...r, text: `room ${room}: ${r.text}` };
    try {
      const id = (JSON.parse(r.text) as { room_id?: unknown }).room_id;
      if (typeof id !== "string" || id === "") throw new Error("no room_id");
      roomId = id;
    } catch {
      return { status: 502, text: `room ${room}: the homeserver's answer has no room_id`, retryAfterMs: null };
    }
    if (rooms.size >= MAX_ROOMS) rooms.clear();
    rooms.set(target.id, roomId);
  }
  const url = `${base}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(`kissbot-${messageId}`)}`;
  const r = await requestJson("PUT", url, body, timeoutMs, userAgent, target.headers);
  // The room is gone or the bot was removed from it: look it up again next time.
  if (r.status === 403 || r.status === 404) rooms.delete(target.id);
  return r;
}
