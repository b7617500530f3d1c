/** Pod streams: logs, exec, attach and port-forward, served by the node from the runtime's view of its pods. */
import type { ApiServer, Client } from '../../api/index.ts';
import type { NodeRuntime } from '../types.ts';
import { attachHandler, execHandler } from './exec.ts';
import { logHandler } from './logs.ts';
import { portForwardHandler } from './portforward.ts';

export { loadNodePty } from './pty.ts';
export { portMapAnnotation } from './portforward.ts';

/** Registers log, exec, attach and portforward handlers on the API server. */
export function installPodStreams(server: ApiServer, opts: { client: Client; runtime: NodeRuntime; log?: (e: Record<string, unknown>) => void }): void {
  server.onSubresource('log', logHandler(opts));
  server.onUpgrade('exec', execHandler(opts));
  server.onUpgrade('attach', attachHandler(opts));
  server.onUpgrade('portforward', portForwardHandler(opts));
}
