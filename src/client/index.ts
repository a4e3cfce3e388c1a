/**
 * kissbot-bridge/client: report a Node bot to the KissBot Monitor (or kissbot-bridge).
 * Imports only Node built-ins, so a bot pays almost nothing for it.
 */
export { MonitorClient, featuresToRecord, DEFAULT_SOCKET_PATH } from "./monitor-client.js";
export type { MonitorClientOptions, LlmUsage, HeartbeatExtras } from "./monitor-client.js";
