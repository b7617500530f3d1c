/**
 * The config stream between the control plane and its proxies (DESIGN §1, §4). Its own folder so a
 * sidecar process loads only this and the proxy, never the control plane's API and store code.
 */
export { StreamClient, streamDefaults, streamPath } from './stream.ts';
export type { ConfigMessage, DeltaMessage, ReplyMessage, StreamClientOptions } from './stream.ts';
export { Lines, streamProtocol } from './lines.ts';
export { applyDelta, DeltaBaseError } from './delta.ts';
export type { ConfigDelta, RouteConfigDelta } from './delta.ts';
