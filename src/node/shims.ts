/**
 * The programs a built-in image ships (fortio's `fortio`): small shell scripts in the container's root
 * that run Skiff's implementation, first on the container's PATH. So `kubectl exec fortio -- fortio
 * load ...` and `-- /usr/bin/fortio load ...` (see resolveExecutable in streams/exec.ts) work as in
 * the real image, while every other program stays this machine's.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The env variable naming a container's shim folder (exec falls back to it for absolute paths). */
export const shimDirEnv = 'SKIFF_SHIMS';

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Writes one shim per binary into `<root>/.skiff/bin`, and puts that folder first on env.PATH. */
export function installShims(root: string, binaries: string[], skiffBin: string, env: Record<string, string>): void {
  if (!binaries.length) return;
  const dir = path.join(root, '.skiff', 'bin');
  mkdirSync(dir, { recursive: true });
  for (const name of binaries) {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(skiffBin)} app ${quote(name)} "$@"\n`);
    chmodSync(file, 0o755);
  }
  env.PATH = `${dir}:${env.PATH ?? ''}`;
  env[shimDirEnv] = dir;
}
