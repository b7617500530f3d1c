// Fortio-style structured log lines (fortio.org/log JSON mode, as seen through `kubectl exec`),
// written to a caller-supplied sink: this library never touches the console.

/** Fortio log levels, lowest is most verbose. */
export const LogLevel = { Debug: 0, Verbose: 1, Info: 2, Warning: 3, Error: 4, Critical: 5 } as const;
/** Numeric log level. */
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

const NAMES = ['Debug', 'Verbose', 'Info', 'Warning', 'Error', 'Critical'] as const;
const JSON_NAMES = ['dbug', 'trace', 'info', 'warn', 'err', 'crit'] as const;

/** Parses a `-loglevel` value case-insensitively (also accepts Go's numeric form); undefined if unknown. */
export function parseLogLevel(s: string): LogLevel | undefined {
  const t = s.trim().toLowerCase();
  const i = NAMES.findIndex((n) => n.toLowerCase() === t || n.toLowerCase().startsWith(t) && t.length >= 3);
  if (i >= 0) return i as LogLevel;
  if (t === 'fatal') return LogLevel.Critical;
  if (/^[0-5]$/.test(t)) return Number(t) as LogLevel;
  return undefined;
}

/** Name of a level as fortio prints it (`Warning`). */
export function logLevelName(l: LogLevel): string {
  return NAMES[l];
}

/** Minimal leveled logger emitting one JSON object per line to `write`. */
export class Logger {
  #level: LogLevel;
  readonly #write: (line: string) => void;

  constructor(write: (line: string) => void, level: LogLevel = LogLevel.Info) {
    this.#write = write;
    this.#level = level;
  }

  /** Current level. */
  get level(): LogLevel {
    return this.#level;
  }

  /** Changes the level, logging the change like fortio does. */
  setLevel(l: LogLevel): void {
    const prev = this.#level;
    this.#level = l;
    if (l !== prev) this.log(LogLevel.Info, `Log level is now ${l} ${NAMES[l]} (was ${prev} ${NAMES[prev]})`, undefined, true);
  }

  /** True when lines at `l` are emitted. */
  enabled(l: LogLevel): boolean {
    return l >= this.#level;
  }

  /** Emits `msg` with optional attributes if `l` is enabled (or `force`). */
  log(l: LogLevel, msg: string, attrs?: Record<string, unknown>, force = false): void {
    if (!force && l < this.#level) return;
    const ts = Math.round(Date.now() * 1000) / 1e6;
    let line = `{"ts":${ts},"level":"${JSON_NAMES[l]}","r":1,"msg":${JSON.stringify(msg)}`;
    if (attrs) for (const k of Object.keys(attrs)) line += `,${JSON.stringify(k)}:${JSON.stringify(attrs[k])}`;
    this.#write(line + '}\n');
  }
}
