/**
 * Pod volumes without a container engine. Every volume is a folder, `<sandbox>/volumes/<name>/`
 * (hostPath: the host folder itself; persistentVolumeClaim: `<dataDir>/volumes/<ns>/<claim>/`, so the
 * data outlives the pod). Since processes share the host's file system (no chroot, no mount
 * namespace), each container gets a root folder, `<sandbox>/containers/<container>/`, and each of its
 * volumeMounts becomes a symlink at `<root>/<mountPath>` to the volume (or its subPath). The process
 * runs in that root (or in `<root>/<workingDir>`, created on demand) with SKIFF_ROOT pointing at it, so
 * `cat etc/config/key` and relative paths work; programs that open absolute paths see the host.
 * ConfigMap, Secret, downwardAPI and projected volumes are written like the kubelet's atomic writer
 * (a `..data` symlink swapped to a new timestamped folder, one symlink per key), so a refresh after
 * the source changes is atomic for readers.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { KObject } from '../api/index.ts';
import { fieldValue, type EnvSources } from './env.ts';

/** Why a volume cannot be set up (the pod stays ContainerCreating, event FailedMount). */
export class VolumeError extends Error {
  readonly volume: string;
  constructor(volume: string, message: string) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${message}`);
    this.volume = volume;
  }
}

interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/** One file of a volume: relative path, content, mode. */
type Payload = Map<string, { data: Buffer; mode: number }>;

/** The volumes of one pod. */
export class PodVolumes {
  #pod: KObject;
  #sandbox: string;
  #dataDir: string;
  #sources: EnvSources;
  #dirs = new Map<string, string>();
  #written = new Map<string, string>();
  #podIP = '';

  constructor(pod: KObject, opts: { sandbox: string; dataDir: string; sources: EnvSources }) {
    this.#pod = pod;
    this.#sandbox = opts.sandbox;
    this.#dataDir = opts.dataDir;
    this.#sources = opts.sources;
  }

  /** Creates every volume; throws VolumeError for a missing non-optional source. */
  setUp(pod: KObject, podIP: string): void {
    this.#pod = pod;
    this.#podIP = podIP;
    const ns = pod.metadata.namespace ?? 'default';
    for (const v of (pod.spec?.volumes ?? []) as Array<Record<string, any>>) {
      let dir = path.join(this.#sandbox, 'volumes', v.name);
      if (v.hostPath) {
        dir = v.hostPath.path;
        if ((v.hostPath.type ?? '') === 'DirectoryOrCreate') mkdirSync(dir, { recursive: true });
      } else if (v.persistentVolumeClaim) {
        dir = path.join(this.#dataDir, 'volumes', ns, v.persistentVolumeClaim.claimName);
        mkdirSync(dir, { recursive: true });
      } else {
        mkdirSync(dir, { recursive: true });
        const payload = this.#payload(v);
        if (payload) this.#write(v.name, dir, payload);
      }
      this.#dirs.set(v.name, dir);
    }
  }

  /** Rewrites the volumes whose sources changed (ConfigMap, Secret, labels); true when any file changed. */
  refresh(pod: KObject): boolean {
    this.#pod = pod;
    let changed = false;
    for (const v of (pod.spec?.volumes ?? []) as Array<Record<string, any>>) {
      const dir = this.#dirs.get(v.name);
      if (!dir || v.hostPath || v.persistentVolumeClaim) continue;
      try {
        const payload = this.#payload(v);
        if (payload && this.#write(v.name, dir, payload)) changed = true;
      } catch {
        // A source deleted while the pod runs: the kubelet keeps the last content too.
      }
    }
    return changed;
  }

  /** Creates the container's root with its mount symlinks and returns its root and working directory. */
  containerRoot(container: { name: string; workingDir?: string; volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }> }): { root: string; cwd: string } {
    const root = path.join(this.#sandbox, 'containers', container.name);
    mkdirSync(root, { recursive: true });
    for (const m of container.volumeMounts ?? []) {
      const vol = this.#dirs.get(m.name);
      if (!vol) continue;
      let target = vol;
      if (m.subPath) {
        target = path.join(vol, m.subPath);
        if (!existsSync(target)) mkdirSync(target, { recursive: true });
      }
      const link = path.join(root, m.mountPath.replace(/^\/+/, ''));
      if (!link.startsWith(root + path.sep)) continue;
      mkdirSync(path.dirname(link), { recursive: true });
      replaceLink(target, link);
    }
    const cwd = container.workingDir ? path.join(root, container.workingDir.replace(/^\/+/, '')) : root;
    mkdirSync(cwd, { recursive: true });
    return { root, cwd };
  }

  /** The folder of a volume, once set up. */
  dir(name: string): string | undefined {
    return this.#dirs.get(name);
  }

  #payload(v: Record<string, any>): Payload | undefined {
    const out: Payload = new Map();
    if (v.configMap) this.#fromObject(out, v.name, 'configmap', v.configMap.name, v.configMap, v.configMap.defaultMode);
    else if (v.secret) this.#fromObject(out, v.name, 'secret', v.secret.secretName, v.secret, v.secret.defaultMode);
    else if (v.downwardAPI) this.#fromDownward(out, v.downwardAPI.items ?? [], v.downwardAPI.defaultMode);
    else if (v.projected) {
      for (const s of v.projected.sources ?? []) {
        if (s.configMap) this.#fromObject(out, v.name, 'configmap', s.configMap.name, s.configMap, v.projected.defaultMode);
        else if (s.secret) this.#fromObject(out, v.name, 'secret', s.secret.name, s.secret, v.projected.defaultMode);
        else if (s.downwardAPI) this.#fromDownward(out, s.downwardAPI.items ?? [], v.projected.defaultMode);
        // No token issuer yet: the token file exists (clients look for it) but is empty.
        else if (s.serviceAccountToken) out.set(s.serviceAccountToken.path, { data: Buffer.alloc(0), mode: v.projected.defaultMode ?? 0o644 });
      }
    } else return undefined;
    return out;
  }

  #fromObject(out: Payload, volume: string, kind: 'configmap' | 'secret', name: string, src: { items?: KeyToPath[]; optional?: boolean }, defaultMode: number | undefined): void {
    const ns = this.#pod.metadata.namespace ?? 'default';
    const obj = kind === 'configmap' ? this.#sources.configMap(ns, name) : this.#sources.secret(ns, name);
    if (!obj) {
      if (src.optional) return;
      throw new VolumeError(volume, `${kind} "${name}" not found`);
    }
    const data = new Map<string, Buffer>();
    for (const [k, val] of Object.entries((obj.data ?? {}) as Record<string, string>)) data.set(k, kind === 'secret' ? Buffer.from(val, 'base64') : Buffer.from(val));
    for (const [k, val] of Object.entries((obj.binaryData ?? {}) as Record<string, string>)) data.set(k, Buffer.from(val, 'base64'));
    const mode = defaultMode ?? 0o644;
    if (src.items?.length) {
      for (const it of src.items) {
        const d = data.get(it.key);
        if (!d) {
          if (src.optional) continue;
          throw new VolumeError(volume, `${kind} references non-existent ${kind === 'configmap' ? 'config' : 'secret'} key: ${it.key}`);
        }
        out.set(it.path, { data: d, mode: it.mode ?? mode });
      }
    } else for (const [k, d] of data) out.set(k, { data: d, mode });
  }

  #fromDownward(out: Payload, items: Array<{ path: string; fieldRef?: { fieldPath: string }; mode?: number }>, defaultMode: number | undefined): void {
    for (const it of items) {
      if (!it.fieldRef) continue;
      out.set(it.path, { data: Buffer.from(fieldValue(this.#pod, it.fieldRef.fieldPath, this.#podIP, '127.0.0.1')), mode: it.mode ?? defaultMode ?? 0o644 });
    }
  }

  /** The atomic writer: a new `..<stamp>` folder, `..data` swapped to it, one symlink per top-level entry. */
  #write(volume: string, dir: string, payload: Payload): boolean {
    const digest = JSON.stringify([...payload].map(([p, f]) => [p, f.mode, f.data.toString('base64')]).sort());
    if (this.#written.get(volume) === digest) return false;
    const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.hrtime.bigint() % 1_000_000n}`;
    const next = path.join(dir, stamp);
    for (const [rel, f] of payload) {
      const file = path.join(next, rel);
      if (!file.startsWith(next + path.sep)) continue;
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, f.data);
      chmodSync(file, f.mode & 0o777);
    }
    mkdirSync(next, { recursive: true });
    let old: string | undefined;
    try {
      old = readlinkSync(path.join(dir, '..data'));
    } catch {
      // First write.
    }
    const tmpLink = path.join(dir, '..data_tmp');
    rmSync(tmpLink, { force: true });
    symlinkSync(stamp, tmpLink);
    renameSync(tmpLink, path.join(dir, '..data'));
    const tops = new Set([...payload.keys()].map((p) => p.split('/')[0]));
    for (const t of tops) replaceLink(path.join('..data', t), path.join(dir, t));
    if (old && old !== stamp) rmSync(path.join(dir, old), { recursive: true, force: true });
    this.#written.set(volume, digest);
    return true;
  }
}

/** Points `link` at `target`, replacing whatever link was there. */
function replaceLink(target: string, link: string): void {
  try {
    const st = lstatSync(link);
    if (st.isSymbolicLink() && readlinkSync(link) === target) return;
    rmSync(link, { recursive: !st.isSymbolicLink(), force: true });
  } catch {
    // Not there yet.
  }
  symlinkSync(target, link);
}
