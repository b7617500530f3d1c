/**
 * Pseudo-terminals for `exec -t`. Three ways, best first: node-pty (an optional dependency loaded with a
 * dynamic import, so Skiff runs without it), util-linux `script` (a real pty with no native code), and
 * plain pipes (no tty; the caller tells the user so).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { constants } from 'node:os';

/** A process running on a terminal (or on pipes, when no terminal could be had). */
export interface Pty {
  readonly pid: number;
  /** How the terminal was made. */
  readonly kind: 'node-pty' | 'script' | 'pipe';
  /** Why there is no tty, for the user; set only for kind 'pipe'. */
  readonly notice?: string;
  onData(cb: (data: Buffer) => void): void;
  /** Called once with the exit code (128 + signal number for a signal). */
  onExit(cb: (code: number) => void): void;
  write(data: Buffer): void;
  /** Stdin ended: a terminal gets the EOF character, pipes are closed. */
  endInput(): void;
  resize(cols: number, rows: number): void;
  /** Kills the whole process group (and the terminal's session). */
  kill(): void;
}

/** How to start the process on the terminal. */
export interface PtyOptions {
  cwd: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
}

/** The slice of node-pty's API this file uses (node-pty is optional; see loadNodePty). */
interface NodePtyModule {
  spawn(file: string, args: string[], opts: { name: string; cols: number; rows: number; cwd: string; env: Record<string, string> }): {
    pid: number;
    onData(cb: (d: string | Buffer) => void): unknown;
    onExit(cb: (e: { exitCode: number; signal?: number }) => void): unknown;
    write(d: string | Buffer): void;
    resize(cols: number, rows: number): void;
    kill(signal?: string): void;
  };
}

let nodePty: Promise<NodePtyModule | undefined> | undefined;

/** Loads node-pty once; undefined when it is not installed or its native part does not load. */
export function loadNodePty(): Promise<NodePtyModule | undefined> {
  // A variable specifier keeps TypeScript and bundlers from requiring the module at build time.
  const specifier = 'node-pty';
  nodePty ??= import(specifier).then(
    (m: { default?: NodePtyModule } & Partial<NodePtyModule>) => (typeof m.spawn === 'function' ? (m as NodePtyModule) : m.default),
    () => undefined,
  );
  return nodePty;
}

let scriptPath: string | false | undefined;

/** The path of util-linux `script`, or false. */
function findScript(): string | false {
  if (scriptPath !== undefined) return scriptPath;
  scriptPath = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p)) ?? false;
  return scriptPath;
}

/** Quotes one word for /bin/sh. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Starts `file args` on a pseudo-terminal, with the best means available. */
export async function spawnPty(file: string, args: string[], opts: PtyOptions): Promise<Pty> {
  // Container runtimes set TERM for tty execs when the image does not.
  const env = { TERM: 'xterm', ...opts.env };
  const np = await loadNodePty();
  if (np) return nodePtyProcess(np, file, args, { ...opts, env });
  const script = findScript();
  if (script) return scriptProcess(script, file, args, { ...opts, env });
  return pipeProcess(file, args, { ...opts, env }, 'no pseudo-terminal available (node-pty is not installed and util-linux script was not found); running without a tty');
}

function nodePtyProcess(np: NodePtyModule, file: string, args: string[], opts: PtyOptions): Pty {
  const p = np.spawn(file, args, { name: opts.env.TERM ?? 'xterm', cols: opts.cols, rows: opts.rows, cwd: opts.cwd, env: opts.env });
  return {
    pid: p.pid,
    kind: 'node-pty',
    onData: (cb) => void p.onData((d) => cb(typeof d === 'string' ? Buffer.from(d) : d)),
    onExit: (cb) => void p.onExit((e) => cb(e.signal ? 128 + e.signal : e.exitCode)),
    // node-pty takes strings (and Buffers in 1.x); a string keeps 0.x working for text input.
    write: (d) => p.write(d.toString()),
    endInput: () => p.write('\x04'),
    resize: (c, r) => p.resize(c, r),
    kill: () => killGroup(p.pid),
  };
}

/**
 * `script -qfec CMD /dev/null`: script owns the pty master and runs CMD in a new session on the slave.
 * The first size is set by `stty` inside CMD; later ones with `stty -F <slave>` from outside, which makes
 * the kernel send SIGWINCH just as an ioctl on the master would.
 */
function scriptProcess(script: string, file: string, args: string[], opts: PtyOptions): Pty {
  const cmd = `stty rows ${opts.rows} cols ${opts.cols} 2>/dev/null; exec ${[file, ...args].map(shellQuote).join(' ')}`;
  const child = spawn(script, ['-qfec', cmd, '/dev/null'], { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let slave: string | undefined;
  const session = (): number | undefined => {
    const kids = childrenOf(child.pid);
    return kids[0];
  };
  const pty = fromChild(child, 'script');
  return {
    ...pty,
    resize(cols, rows) {
      if (!slave) {
        const s = session();
        if (s) slave = ttyOf(s);
      }
      if (slave) spawnSync('stty', ['-F', slave, 'rows', String(rows), 'cols', String(cols)], { stdio: 'ignore', timeout: 2000 });
    },
    kill() {
      // The command runs in its own session under script, so the group kill alone would miss it.
      const s = session();
      if (s) killGroup(s);
      pty.kill();
    },
  };
}

/** Plain pipes with stderr folded into the output, as a terminal would show it. */
function pipeProcess(file: string, args: string[], opts: PtyOptions, notice: string): Pty {
  const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  return { ...fromChild(child, 'pipe'), notice };
}

function fromChild(child: ChildProcess, kind: 'script' | 'pipe'): Pty {
  let exitCb: ((code: number) => void) | undefined;
  let exitCode: number | undefined;
  child.on('error', () => {
    exitCode ??= 127;
    exitCb?.(exitCode);
  });
  child.on('close', (code, signal) => {
    if (exitCode !== undefined) return;
    exitCode = code ?? 128 + signalNumber(signal);
    exitCb?.(exitCode);
  });
  child.stdin?.on('error', () => undefined);
  return {
    pid: child.pid ?? -1,
    kind,
    onData(cb) {
      child.stdout?.on('data', cb);
      child.stderr?.on('data', cb);
    },
    onExit(cb) {
      exitCb = cb;
      if (exitCode !== undefined) cb(exitCode);
    },
    write: (d) => void child.stdin?.write(d),
    endInput: () => (kind === 'script' ? void child.stdin?.write('\x04') : void child.stdin?.end()),
    resize: () => undefined,
    kill: () => killGroup(child.pid),
  };
}

/** Sends SIGKILL to a process group; ignores groups that are already gone. */
export function killGroup(pid: number | undefined): void {
  if (!pid || pid <= 0) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** The number of a signal name, for the 128 + n exit code convention. */
export function signalNumber(signal: NodeJS.Signals | null): number {
  return (signal && constants.signals[signal]) || 0;
}

function childrenOf(pid: number | undefined): number[] {
  if (!pid) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function ttyOf(pid: number): string | undefined {
  try {
    const p = readlinkSync(`/proc/${pid}/fd/0`);
    return p.startsWith('/dev/pts/') ? p : undefined;
  } catch {
    return undefined;
  }
}
