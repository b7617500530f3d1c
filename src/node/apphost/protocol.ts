/**
 * The messages between the node agent and its app host process, over the Node IPC channel (JSON).
 * One instance is one run of one container; its id is unique for the agent's lifetime.
 */

/** Agent → host: start an app instance, writing its output to logFile (already created by the agent). */
export interface StartMessage {
  t: 'start';
  id: string;
  app: string;
  args: string[];
  env: Record<string, string>;
  logFile: string;
}

/** Agent → host: stop an instance (close its listener and connections); the host answers with `exit`. */
export interface StopMessage {
  t: 'stop';
  id: string;
}

/** Agent → host: stop every instance and exit. */
export interface QuitMessage {
  t: 'quit';
}

/** Host → agent: the IPC handler is in place (messages sent before it could be lost). */
export interface ReadyMessage {
  t: 'ready';
}

/** Host → agent: an instance ended (stopped: 0; failed to listen or crashed: 1), its log file closed. */
export interface ExitMessage {
  t: 'exit';
  id: string;
  code: number;
}

export type ToHost = StartMessage | StopMessage | QuitMessage;
export type FromHost = ReadyMessage | ExitMessage;

/** The program that runs in the host: `skiff app-host`. */
export const appHostCommand = 'app-host';
