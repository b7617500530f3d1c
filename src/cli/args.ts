/** Command-line parsing for `skiff`: flags as `--name value` or `--name=value`. */

export class UsageError extends Error {
  readonly code = 'SKIFF_ERR_USAGE';
}

export interface FlagSpec {
  name: string;
  type: 'string' | 'number' | 'boolean';
  env?: string;
  help: string;
}

/** Parses argv against specs; unknown flags are a UsageError. */
export function parseFlags(argv: string[], specs: FlagSpec[]): { flags: Record<string, string | number | boolean | undefined>; rest: string[] } {
  const flags: Record<string, string | number | boolean | undefined> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      rest.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(`unknown flag: --${name}`);
    if (spec.type === 'boolean') {
      flags[name] = eq > 0 ? a.slice(eq + 1) !== 'false' : true;
      continue;
    }
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`flag needs an argument: --${name}`);
    if (spec.type === 'number') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`invalid value "${value}" for --${name}: must be a port number (0-65535)`);
      flags[name] = n;
    } else flags[name] = value;
  }
  for (const s of specs) {
    if (flags[s.name] === undefined && s.env && process.env[s.env]) flags[s.name] = process.env[s.env];
  }
  return { flags, rest };
}
