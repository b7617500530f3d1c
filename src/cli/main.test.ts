import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

// bin/skiff.js runs the bundle when it is fresh (npm test builds it first), else these sources through tsx.
const bin = fileURLToPath(new URL('../../bin/skiff.js', import.meta.url));

function skiff(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, SKIFF_DATA_DIR: '/nonexistent-skiff-test' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('skiff command line', () => {
  it('prints its usage for --help and -h, also after a command, and starts nothing', () => {
    for (const args of [['--help'], ['up', '--help'], ['up', '--api-port', '0', '-h'], ['analyze', '--help'], ['proxy', '-h']]) {
      const r = skiff(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^Skiff: a pocket Kubernetes/, args.join(' '));
      assert.match(r.stdout, /--data-dir/);
    }
  });

  it('answers an unknown flag or command with exit code 2 and says what was wrong', () => {
    let r = skiff('up', '--bogus');
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'error: unknown flag: --bogus\n');
    r = skiff('frobnicate');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: unknown command "frobnicate"/);
  });
});
