// `fortio` command line: Go `flag` semantics (command first, then -flags, then the target;
// parsing stops at the first non-flag), fortio's messages and exit codes.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { FastClient, codeIsOK } from './client.ts';
import { FortioError, VERSION } from './errors.ts';
import { parseDuration } from './format.ts';
import { LogLevel, Logger, parseLogLevel } from './log.ts';
import { formatHeader, formatResult, formatStart, resultJSON } from './report.ts';
import { LOAD_DEFAULTS, parseHeaders, parseTarget, planLoad, proxyFor, runLoad, type LoadOptions } from './load.ts';
import { EchoServer } from './server.ts';
import { parsePercentiles } from './stats.ts';

/** I/O the CLI writes to; `signal` stops `server` (and endless loads). */
export interface CliIO {
  stdout(s: string): void;
  stderr(s: string): void;
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
}

type FlagKind = 'bool' | 'int' | 'float' | 'duration' | 'string' | 'list';
interface FlagSpec { kind: FlagKind; help: string }

/** Flags we support, with fortio's help texts (abridged). */
const FLAGS: Record<string, FlagSpec> = {
  c: { kind: 'int', help: 'Number of connections/goroutine/threads (default 4)' },
  qps: { kind: 'float', help: 'Queries Per Seconds or 0 for no wait/max qps (default 8)' },
  n: { kind: 'int', help: 'Run for exactly this number of calls instead of duration. Default (0) is to use duration (-t)' },
  t: { kind: 'duration', help: 'How long (duration) to run the test or 0 to run until ^C (default 5s)' },
  timeout: { kind: 'duration', help: 'Connection and read timeout value (for HTTP) (default 3s)' },
  H: { kind: 'list', help: 'Additional HTTP header(s) "Name: value", repeatable' },
  X: { kind: 'string', help: 'HTTP method to use instead of GET/POST depending on payload' },
  payload: { kind: 'string', help: 'Payload string to send along' },
  keepalive: { kind: 'bool', help: 'Keep connection alive (only for fast HTTP/1.1) (default true)' },
  k: { kind: 'bool', help: 'Do not verify certs in https connections' },
  p: { kind: 'string', help: 'List of pXX to calculate (default "50,75,90,99,99.9")' },
  loglevel: { kind: 'string', help: 'log level, one of [Debug Verbose Info Warning Error Critical Fatal] (default Info)' },
  quiet: { kind: 'bool', help: 'Quiet mode, sets loglevel to Error (quietly) to reduces the output' },
  json: { kind: 'string', help: 'Json output to provided file path or "-" for stdout (empty = no json output)' },
  'allow-initial-errors': { kind: 'bool', help: "Allow and don't abort on initial warmup errors" },
  curl: { kind: 'bool', help: 'Just fetch the content once' },
  'http-port': { kind: 'string', help: 'http echo server port. Can be in the form of host:port, ip:port or port (default "8080")' },
  'echo-debug-path': { kind: 'string', help: 'http echo server URI for debug, empty turns off that part (default "/debug")' },
  'ui-path': { kind: 'string', help: 'HTTP server URI for UI, empty turns off that part (default "/fortio/")' },
};

type FlagValues = Record<string, string | number | boolean | string[]>;

class UsageError extends Error {}

/** Parses Go-style flags from `args`; returns values and the remaining positional arguments. */
export function parseFlags(args: readonly string[]): { flags: FlagValues; rest: string[] } {
  const flags: FlagValues = {};
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') { i++; break; }
    if (!a.startsWith('-') || a === '-') break;
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = FLAGS[name];
    if (name === 'h' || name === 'help') throw new UsageError('');
    if (!spec) throw new UsageError(`flag provided but not defined: -${name}`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.kind === 'bool') raw = 'true';
    else {
      if (i + 1 >= args.length) throw new UsageError(`flag needs an argument: -${name}`);
      raw = args[++i] as string;
    }
    flags[name] = convert(name, spec.kind, raw, flags[name]);
  }
  return { flags, rest: args.slice(i) };
}

function convert(name: string, kind: FlagKind, raw: string, prev: FlagValues[string] | undefined): FlagValues[string] {
  const bad = (why: string): never => { throw new UsageError(`invalid value "${raw}" for flag -${name}: ${why}`); };
  switch (kind) {
    case 'bool':
      if (/^(1|t|true)$/i.test(raw)) return true;
      if (/^(0|f|false)$/i.test(raw)) return false;
      return bad('parse error');
    case 'int':
      return /^[-+]?\d+$/.test(raw) ? Number(raw) : bad('parse error');
    case 'float': {
      const v = Number(raw);
      return raw.trim() !== '' && Number.isFinite(v) ? v : bad('parse error');
    }
    case 'duration': {
      const ns = parseDuration(raw);
      return ns === undefined ? bad(`time: invalid duration "${raw}"`) : ns / 1e6;
    }
    case 'list':
      return [...((prev as string[] | undefined) ?? []), raw];
    default:
      return raw;
  }
}

/** Fortio's usage text. */
export function usage(): string {
  let out = `Φορτίο ${VERSION} usage:\n\tfortio command [flags] target\n`;
  out += 'where command is one of: load (load testing), server (starts the http-echo server),\n';
  out += ' or curl (single URL debug), or version (prints the version).\n';
  out += 'where target is a URL (http load tests).\n';
  out += 'or 1 of the special arguments\n\tfortio {help|version}\nflags:\n';
  for (const [name, spec] of Object.entries(FLAGS)) {
    const arg = spec.kind === 'bool' ? '' : spec.kind === 'duration' ? ' duration' : spec.kind === 'list' ? ' value' : ` ${spec.kind}`;
    out += `  -${name}${arg}\n    \t${spec.help}\n`;
  }
  return out;
}

/** Runs `fortio <command> [flags] [target]` and resolves with the exit code. */
export async function fortioCli(argv: string[], io: CliIO): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined) {
    io.stderr(usage() + 'Error: missing command\n');
    return 1;
  }
  if (command === 'help' || command === '-h' || command === '-help' || command === '--help') {
    io.stdout(usage());
    return 0;
  }
  if (command === 'version' || command === '-version' || command === '--version') {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  if (command !== 'load' && command !== 'curl' && command !== 'server') {
    io.stderr(usage() + `Error: unknown command "${command}"\n`);
    return 1;
  }
  let flags: FlagValues;
  let rest: string[];
  try {
    ({ flags, rest } = parseFlags(args));
  } catch (e) {
    if (e instanceof UsageError && e.message === '') {
      io.stderr(usage());
      return 0;
    }
    io.stderr(`${(e as Error).message}\n${usage()}`);
    return 1;
  }
  const logger = new Logger(io.stderr, command === 'curl' ? LogLevel.Warning : LogLevel.Info);
  if (flags.quiet === true) {
    // -quiet lowers verbosity without the "Log level is now" notice.
    const quiet = new Logger(io.stderr, LogLevel.Error);
    return dispatch(command, flags, rest, quiet, io);
  }
  if (typeof flags.loglevel === 'string') {
    const l = parseLogLevel(flags.loglevel);
    if (l === undefined) {
      io.stderr(`invalid value "${flags.loglevel}" for flag -loglevel: unknown level, expected one of Debug, Verbose, Info, Warning, Error, Critical\n`);
      return 1;
    }
    logger.setLevel(l);
  }
  return dispatch(command, flags, rest, logger, io);
}

async function dispatch(command: string, flags: FlagValues, rest: string[], logger: Logger, io: CliIO): Promise<number> {
  try {
    if (command === 'server') return await serverCommand(flags, rest, logger, io);
    if (rest.length !== 1) {
      io.stderr(usage() + (rest.length === 0 ? 'Error: fortio load/curl needs a URL or destination\n' : 'Error: too many arguments (typo in a flag?)\n'));
      return 1;
    }
    if (command === 'curl' || flags.curl === true) return await curlCommand(flags, rest[0] as string, logger, io);
    return await loadCommand(flags, rest[0] as string, logger, io);
  } catch (e) {
    if (e instanceof FortioError) {
      io.stderr(`Error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

function loadOptions(flags: FlagValues, url: string, logger: Logger, io: CliIO): LoadOptions {
  const percentiles = typeof flags.p === 'string' ? parsePercentiles(flags.p) : [...LOAD_DEFAULTS.percentiles];
  if (!percentiles) throw new FortioError('SKIFF_ERR_FORTIO_USAGE', `unable to extract percentiles from -p "${String(flags.p)}"`);
  const c = (flags.c as number | undefined) ?? LOAD_DEFAULTS.connections;
  if (c < 1) throw new FortioError('SKIFF_ERR_FORTIO_USAGE', `invalid -c ${c}: need at least 1 connection`);
  const n = (flags.n as number | undefined) ?? 0;
  if (n < 0) throw new FortioError('SKIFF_ERR_FORTIO_USAGE', `invalid -n ${n}: must be 0 or more`);
  const timeoutMs = (flags.timeout as number | undefined) ?? LOAD_DEFAULTS.timeoutMs;
  parseHeaders((flags.H as string[] | undefined) ?? []); // validate early: fail before any output
  return {
    url, connections: c, qps: Math.max(0, (flags.qps as number | undefined) ?? LOAD_DEFAULTS.qps), n,
    durationMs: (flags.t as number | undefined) ?? LOAD_DEFAULTS.durationMs,
    timeoutMs: timeoutMs > 0 ? timeoutMs : LOAD_DEFAULTS.timeoutMs,
    headers: (flags.H as string[] | undefined) ?? [], method: flags.X as string | undefined,
    payload: flags.payload as string | undefined, keepalive: (flags.keepalive as boolean | undefined) ?? true,
    percentiles, allowInitialErrors: flags['allow-initial-errors'] === true, insecure: flags.k === true,
    env: io.env, signal: io.signal, logger,
  };
}

async function loadCommand(flags: FlagValues, url: string, logger: Logger, io: CliIO): Promise<number> {
  const opts = loadOptions(flags, url, logger, io);
  parseTarget(url); // fail on a bad URL before printing the banner
  const plan = planLoad(opts);
  io.stderr(formatHeader(plan));
  let result;
  try {
    result = await runLoad({ ...opts, onStart: (p) => io.stderr(formatStart(p, logger.level)) });
  } catch (e) {
    if (e instanceof FortioError && e.code === 'SKIFF_ERR_FORTIO_WARMUP') {
      io.stderr(`Aborting because of ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  io.stderr(formatResult(result, { level: logger.level, header: false }));
  if (typeof flags.json === 'string' && flags.json !== '') {
    const text = JSON.stringify(resultJSON(result), null, 2) + '\n';
    const bytes = Buffer.byteLength(text);
    if (flags.json === '-') {
      io.stdout(text);
      io.stderr(`Successfully wrote ${bytes} bytes of Json data to stdout\n`);
    } else {
      try {
        writeFileSync(flags.json, text);
      } catch (e) {
        io.stderr(`Error: cannot write json to "${flags.json}": ${(e as Error).message}\n`);
        return 1;
      }
      io.stderr(`Successfully wrote ${bytes} bytes of Json data to ${flags.json}\n`);
    }
  }
  return 0;
}

async function curlCommand(flags: FlagValues, raw: string, logger: Logger, io: CliIO): Promise<number> {
  const url = parseTarget(raw, logger);
  const payload = typeof flags.payload === 'string' ? Buffer.from(flags.payload) : undefined;
  const timeoutMs = (flags.timeout as number | undefined) ?? LOAD_DEFAULTS.timeoutMs;
  const client = new FastClient({
    url, method: (flags.X as string | undefined) ?? (payload && payload.length > 0 ? 'POST' : 'GET'),
    headers: parseHeaders((flags.H as string[] | undefined) ?? []), payload, keepalive: (flags.keepalive as boolean | undefined) ?? true,
    timeoutMs, proxy: proxyFor(url, undefined, io.env), insecure: flags.k === true, readErrorBodies: true,
    threadId: 0, logger, userAgent: `fortio.org/fortio-${VERSION}`,
  });
  const timer = setInterval(() => client.expire(performance.now()), Math.min(100, Math.max(5, timeoutMs / 10)));
  try {
    const code = await client.fetch();
    const data = client.data;
    if (codeIsOK(code)) {
      io.stderr(data.toString('latin1', 0, client.headerLen));
      io.stdout(data.toString('utf8', client.headerLen));
    } else {
      io.stdout(data.toString('utf8'));
    }
    if (code !== 200) {
      logger.log(LogLevel.Error, `Error status ${code}`);
      return 1;
    }
    return 0;
  } finally {
    clearInterval(timer);
    client.close();
  }
}

async function serverCommand(flags: FlagValues, rest: string[], logger: Logger, io: CliIO): Promise<number> {
  if (rest.length !== 0) {
    io.stderr(usage() + 'Error: too many arguments (typo in a flag?)\n');
    return 1;
  }
  // Skiff pods share the host: default to the pod IP (and PORT) instead of fortio's all-interfaces :8080.
  const spec = typeof flags['http-port'] === 'string' ? flags['http-port'] : io.env.PORT || '8080';
  const m = /^(?:(.*):)?(\d+)$/.exec(spec);
  if (!m) throw new FortioError('SKIFF_ERR_FORTIO_USAGE', `invalid -http-port "${spec}": expected port, host:port or ip:port`);
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '') || io.env.POD_IP || '127.0.0.1';
  const server = new EchoServer({
    host, port: Number(m[2]),
    debugPath: typeof flags['echo-debug-path'] === 'string' ? flags['echo-debug-path'] : undefined,
    uiPath: typeof flags['ui-path'] === 'string' ? flags['ui-path'] : undefined,
    log: (line) => logger.log(LogLevel.Info, line),
  });
  await server.listen();
  logger.log(LogLevel.Info, `All fortio ${VERSION} servers started!`);
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  return 0;
}
