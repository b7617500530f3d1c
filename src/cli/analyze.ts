/**
 * `skiff analyze [-n NS | -A]`: Istio's config analyzers (`istioctl analyze`) over the live
 * cluster, reached through the kubeconfig like kubectl (KUBECONFIG, else ~/.skiff/kubeconfig).
 * Prints istioctl's lines (`Error [IST0101] (VirtualService user11/reviews) ...`) and exits 79
 * when a finding is an Error, as istioctl does.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { KObject } from '../api/index.ts';
import { analysisFailure, analyze, formatAnalysis, istioCrds } from '../mesh/config/index.ts';
import { UsageError } from './args.ts';

/** The exit code istioctl analyze uses when analyzers report errors. */
const ANALYZER_FOUND_ISSUES = 79;

interface Target {
  server: string;
  ca?: string;
  token?: string;
}

/** Server, CA and token of the kubeconfig's current context. */
function kubeconfigTarget(file: string): Target {
  let cfg: any;
  try {
    cfg = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read kubeconfig ${file}: ${(e as Error).message}; is skiff up running?`);
  }
  const ctxName = cfg?.['current-context'];
  const ctx = (cfg?.contexts ?? []).find((c: any) => c.name === ctxName)?.context;
  const cluster = (cfg?.clusters ?? []).find((c: any) => c.name === ctx?.cluster)?.cluster;
  const user = (cfg?.users ?? []).find((u: any) => u.name === ctx?.user)?.user;
  if (!cluster?.server) throw new UsageError(`kubeconfig ${file} has no server for context "${ctxName ?? ''}"`);
  return { server: cluster.server, ca: cluster['certificate-authority-data'] ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString() : undefined, token: user?.token };
}

function list(t: Target, path: string): Promise<KObject[]> {
  return new Promise((resolve, reject) => {
    const req = request(`${t.server}${path}`, { ca: t.ca, headers: { authorization: t.token ? `Bearer ${t.token}` : '', accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        if (res.statusCode === 404) return resolve([]);
        if (res.statusCode !== 200) return reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 200)}`));
        const l = JSON.parse(body) as { items?: KObject[]; kind?: string; apiVersion?: string };
        // List items carry no kind; the analyzers need it.
        const kind = (l.kind ?? '').replace(/List$/, '');
        resolve((l.items ?? []).map((o) => ({ ...o, kind, apiVersion: l.apiVersion })));
      });
    });
    req.on('error', (e) => reject(new Error(`cannot reach the cluster at ${t.server}: ${e.message}; is skiff up running?`)));
    req.end();
  });
}

/** Runs the analyzers; resolves with the exit code. */
export async function analyzeMain(argv: string[]): Promise<number> {
  let namespace = 'default';
  let all = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-A' || a === '--all-namespaces') all = true;
    else if (a === '-n' || a === '--namespace') namespace = argv[++i] ?? '';
    else if (a.startsWith('--namespace=')) namespace = a.slice(12);
    else throw new UsageError(`unknown flag for skiff analyze: ${a} (use -n NAMESPACE or -A)`);
  }
  if (!namespace) throw new UsageError('-n needs a namespace');
  const file = process.env.KUBECONFIG?.split(':')[0] || join(process.env.SKIFF_DATA_DIR || join(homedir(), '.skiff'), 'kubeconfig');
  const t = kubeconfigTarget(file);
  const paths = ['/api/v1/namespaces', '/api/v1/services', '/api/v1/pods', '/api/v1/secrets', '/apis/apps/v1/deployments'];
  for (const crd of istioCrds()) {
    const served = (crd.spec?.versions ?? []).find((v: { storage?: boolean }) => v.storage) ?? crd.spec?.versions?.[0];
    paths.push(`/apis/${crd.spec?.group}/${served?.name}/${crd.spec?.names?.plural}`);
  }
  const objects = (await Promise.all(paths.map((p) => list(t, p)))).flat();
  const opts = { namespace, allNamespaces: all };
  const msgs = analyze(objects, opts);
  process.stdout.write(`${formatAnalysis(msgs, opts)}\n`);
  const failure = analysisFailure(msgs, opts);
  if (failure) {
    process.stderr.write(`Error: ${failure}\n`);
    return ANALYZER_FOUND_ISSUES;
  }
  return 0;
}
