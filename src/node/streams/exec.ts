/**
 * `pods/exec` and `pods/attach` over WebSocket (v5/v4.channel.k8s.io). Exec runs the command with the
 * container's environment and working directory, detached in its own process group so that it can be
 * killed as a whole when the client leaves.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Client, KObject, UpgradeHandler } from '../../api/index.ts';
import type { ContainerRuntimeInfo, NodeRuntime } from '../types.ts';
import { ChannelSession, Channel, acceptWebSocket, execProtocols, exitStatus, internalErrorStatus, isWebSocket, rejectUpgrade, rejectUpgradeText } from './channel.ts';
import { killGroup, signalNumber, spawnPty, type Pty } from './pty.ts';
import { StreamError, badRequest, flag, pickContainer } from './target.ts';

/** What the stream handlers need from the rest of Skiff. */
export interface StreamDeps {
  client: Client;
  runtime: NodeRuntime;
  log?: (e: Record<string, unknown>) => void;
}

/** The PATH a container gets when its image and spec set none (the CRI default). */
const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** How long a tty exec waits for kubectl's first size message, so the program starts at the right size. */
const firstSizeWaitMs = 300;

type Route = { ns: string; name: string; sub: string };

/** The pod, its container and the runtime view of it, after the API server's and the kubelet's checks. */
async function target(deps: StreamDeps, route: Route, q: URLSearchParams): Promise<{ pod: KObject; container: string; spec: { stdin?: boolean; tty?: boolean }; info: ContainerRuntimeInfo }> {
  const pod = await deps.client.get('pods', route.ns, route.name);
  const spec = pickContainer(pod, q.get('container'));
  // Upstream's streamLocation refuses pods that are not bound to a node yet.
  if (!(pod.spec as { nodeName?: string } | undefined)?.nodeName) throw badRequest(`pod ${route.name} does not have a host assigned`);
  const info = deps.runtime.container(route.ns, route.name, spec.name);
  // The kubelet's own answer for a container that is not (or no longer) running.
  if (!info || !info.running) throw new StreamError(500, 'InternalError', `container not found ("${spec.name}")`, true);
  return { pod, container: spec.name, spec, info };
}

/** Answers a failed upgrade the way upstream does for that failure, for the WebSocket try and the SPDY retry alike. */
function reject(socket: Duplex, e: unknown): void {
  if (e instanceof StreamError) {
    if (e.plain) rejectUpgradeText(socket, e.code, e.message);
    else rejectUpgrade(socket, e.toStatus());
    return;
  }
  const err = e as { code?: number; reason?: string; message?: string; toStatus?: () => Record<string, unknown> };
  if (typeof err?.toStatus === 'function') rejectUpgrade(socket, err.toStatus());
  else rejectUpgrade(socket, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: String(err?.message ?? e), reason: 'InternalError', code: 500 });
}

/** Validates, then completes the WebSocket upgrade; undefined (and the socket answered) when it cannot. */
async function open(deps: StreamDeps, route: Route, req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) {
  try {
    const t = await target(deps, route, url.searchParams);
    if (!isWebSocket(req)) throw badRequest(`SPDY/3.1 is not supported by this server for ${route.sub}; use kubectl's default WebSocket transport (unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS)`);
    const ws = await acceptWebSocket(req, socket, head, execProtocols);
    if (!ws) throw badRequest(`no supported subprotocol offered (want one of ${execProtocols.join(', ')})`);
    return { ...t, ws };
  } catch (e) {
    reject(socket, e);
    return undefined;
  }
}

/** The program a container's process would run for argv[0]: looked up on the container's PATH, as execvp does. */
export function resolveExecutable(cmd: string, env: Record<string, string>, cwd: string): { path: string } | { error: string } {
  if (cmd.includes('/')) {
    const p = isAbsolute(cmd) ? cmd : join(cwd, cmd);
    try {
      statSync(p);
      return { path: p };
    } catch {
      // A built-in image's own program at its image path (`/usr/bin/fortio`): its shim, when there is one.
      const shim = env.SKIFF_SHIMS ? join(env.SKIFF_SHIMS, basename(cmd)) : undefined;
      if (shim && isAbsolute(cmd)) {
        try {
          statSync(shim);
          return { path: shim };
        } catch {
          // No shim by that name either.
        }
      }
      return { error: `exec: "${cmd}": stat ${cmd}: no such file or directory: unknown` };
    }
  }
  for (const dir of (env.PATH ?? defaultPath).split(':')) {
    if (!dir) continue;
    const p = join(isAbsolute(dir) ? dir : join(cwd, dir), cmd);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, fsConstants.X_OK);
      return { path: p };
    } catch {
      // Not here; next PATH entry.
    }
  }
  return { error: `exec: "${cmd}": executable file not found in $PATH: unknown` };
}

/** The `exec` upgrade handler. */
export function execHandler(deps: StreamDeps): UpgradeHandler {
  return (route, req, socket, head, url) => {
    runExec(deps, route, req, socket, head, url).catch((e: Error) => {
      deps.log?.({ msg: 'exec failed', namespace: route.ns, pod: route.name, err: e.message });
      socket.destroy();
    });
  };
}

async function runExec(deps: StreamDeps, route: Route, req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
  const q = url.searchParams;
  const argv = q.getAll('command');
  if (argv.length === 0) return reject(socket, badRequest('you must specify at least 1 command'));
  const s = await open(deps, route, req, socket, head, url);
  if (!s) return;
  const { info, ws } = s;
  const tty = flag(q, 'tty');
  const wantStdin = flag(q, 'stdin');
  const wantStdout = flag(q, 'stdout') || tty;
  const wantStderr = flag(q, 'stderr') && !tty;
  const started = Date.now();
  let logged = false;
  const logEnd = (code: number | string): void => void (!logged && (logged = true) && deps.log?.({ msg: 'exec', namespace: route.ns, pod: route.name, container: s.container, argv, tty, code, ms: Date.now() - started }));

  let proc: Pty | undefined;
  let size = { width: 80, height: 24 };
  let gotSize: (() => void) | undefined;
  const pendingStdin: Buffer[] = [];
  let stdinEnded = false;
  const session = new ChannelSession(ws, {
    stdin: (d) => (proc ? proc.write(d) : pendingStdin.push(d)),
    stdinEnd: () => {
      stdinEnded = true;
      proc?.endInput();
    },
    resize: (sz) => {
      size = sz;
      if (gotSize) gotSize();
      else proc?.resize(sz.width, sz.height);
    },
    closed: () => {
      // The client left first (Ctrl-C, broken connection): nobody reads the output any more.
      proc?.kill();
      logEnd('client-closed');
    },
  });

  const exe = resolveExecutable(argv[0], info.env, info.cwd);
  if ('error' in exe) {
    logEnd('not-found');
    return session.finish(internalErrorStatus(exe.error));
  }
  if (tty) {
    await new Promise<void>((resolve) => {
      gotSize = resolve;
      setTimeout(resolve, firstSizeWaitMs).unref();
    });
    gotSize = undefined;
    if (session.done) return;
    proc = await spawnPty(exe.path, argv.slice(1), { cwd: info.cwd, env: info.env, cols: size.width, rows: size.height });
    if (proc.notice) void session.write(Channel.stdout, Buffer.from(`skiff: ${proc.notice}\r\n`));
  } else {
    proc = spawnPipes(exe.path, argv, { cwd: info.cwd, env: info.env, stdin: wantStdin });
  }
  const p = proc;
  if (session.done) return p.kill();
  if (wantStdout) p.onData((d) => void session.write(Channel.stdout, d));
  if (wantStderr && 'onStderr' in p) (p as PipeProcess).onStderr((d) => void session.write(Channel.stderr, d));
  p.onExit((code) => {
    logEnd(code);
    if (code < 0) session.finish(internalErrorStatus(`failed to start ${argv[0]}`));
    else session.finish(exitStatus(argv, code));
  });
  for (const d of pendingStdin.splice(0)) p.write(d);
  if (stdinEnded) p.endInput();
}

/** A process on pipes: onData is its stdout, onStderr its stderr. */
type PipeProcess = Pty & { onStderr(cb: (d: Buffer) => void): void };

/** A non-tty exec: separate stdout and stderr, stdin only when asked for. */
function spawnPipes(file: string, argv: string[], o: { cwd: string; env: Record<string, string>; stdin: boolean }): PipeProcess {
  const child = spawn(file, argv.slice(1), { argv0: argv[0], cwd: o.cwd, env: o.env, detached: true, stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let exitCb: ((code: number) => void) | undefined;
  let code: number | undefined;
  const done = (c: number): void => {
    if (code !== undefined) return;
    code = c;
    exitCb?.(c);
  };
  child.on('error', () => done(-1));
  // 'close' waits for stdout and stderr to end, so all output is sent before the status.
  child.on('close', (c, sig) => done(c ?? 128 + signalNumber(sig)));
  child.stdin?.on('error', () => undefined);
  return {
    pid: child.pid ?? -1,
    kind: 'pipe',
    onData: (cb) => void child.stdout?.on('data', cb),
    onStderr: (cb) => void child.stderr?.on('data', cb),
    onExit(cb) {
      exitCb = cb;
      if (code !== undefined) cb(code);
    },
    write: (d) => void child.stdin?.write(d),
    endInput: () => void child.stdin?.end(),
    resize: () => undefined,
    kill: () => killGroup(child.pid),
  };
}

/** The `attach` upgrade handler: the main process's stdio, when the node agent offers it. */
export function attachHandler(deps: StreamDeps): UpgradeHandler {
  return (route, req, socket, head, url) => {
    runAttach(deps, route, req, socket, head, url).catch((e: Error) => {
      deps.log?.({ msg: 'attach failed', namespace: route.ns, pod: route.name, err: e.message });
      socket.destroy();
    });
  };
}

async function runAttach(deps: StreamDeps, route: Route, req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
  let io: ReturnType<NonNullable<NodeRuntime['attach']>>;
  try {
    const pod = await deps.client.get('pods', route.ns, route.name);
    const spec = pickContainer(pod, url.searchParams.get('container'));
    if (flag(url.searchParams, 'stdin') && !spec.stdin) throw badRequest(`cannot attach to the stdin of container ${spec.name} in pod ${route.name}: the container was not started with stdin: true`);
    io = deps.runtime.attach?.(route.ns, route.name, spec.name);
    if (!io) throw badRequest(`cannot attach to container ${spec.name} in pod ${route.name}: attach is not supported for this container (it needs stdin: true and a running process)`);
  } catch (e) {
    return reject(socket, e);
  }
  const s = await open(deps, route, req, socket, head, url);
  if (!s) return;
  const { output, stdin } = io;
  const session = new ChannelSession(s.ws, {
    stdin: (d) => void stdin?.write(d),
    closed: () => output.removeListener('data', onData),
  });
  const onData = (d: Buffer | string): void => void session.write(Channel.stdout, Buffer.isBuffer(d) ? d : Buffer.from(d));
  output.on('data', onData);
  // Detaching never stops the container; its end ends the session.
  output.once('end', () => session.finish({ metadata: {}, status: 'Success' }));
}
