/**
 * The app host: the built-in server apps of many containers in one Node process, each container keeping
 * a process of its own (a sleeping stub). The agent side (AppHost) and the host process side
 * (serveAppHost, run by `skiff app-host`).
 */
export { AppHost, appHostRecord } from './client.ts';
export type { AppHostOptions } from './client.ts';
export { HostedContainer } from './hosted.ts';
export { serveAppHost, type AppStarter } from './host.ts';
export { appHostCommand } from './protocol.ts';
