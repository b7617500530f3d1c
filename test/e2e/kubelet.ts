/**
 * Until the node agent runs pods, tests play the kubelet: they mark pods Running and Ready through the
 * real status subresource with `kubectl patch --subresource=status`, as a kubelet would report them.
 */
import type { SkiffProcess } from './harness.ts';

let nextIp = 10;

/** Marks every Pending pod in `ns` as Running and Ready; returns how many it marked. */
export async function markPodsReady(skiff: SkiffProcess, ns: string): Promise<number> {
  const r = await skiff.kubectl(['-n', ns, 'get', 'pods', '-o', 'json']);
  if (r.code !== 0) return 0;
  const pods = (JSON.parse(r.stdout) as { items: Array<{ metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string; containers: Array<{ name: string; image: string }> }; status?: { phase?: string } }> }).items;
  let n = 0;
  for (const pod of pods) {
    const name = pod.metadata.name;
    // A kubelet runs only the pods bound to its node.
    if (pod.status?.phase !== 'Pending' || pod.metadata.deletionTimestamp || !pod.spec.nodeName) continue;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const ip = `127.42.0.${nextIp++ % 250}`;
    const status = {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: '127.0.0.1',
      startTime: now,
      containerStatuses: pod.spec.containers.map((c) => ({ name: c.name, image: c.image, imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } })),
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastTransitionTime: now },
        { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
        { type: 'Ready', status: 'True', lastTransitionTime: now },
      ],
    };
    const p = await skiff.kubectl(['-n', ns, 'patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    if (p.code === 0) n++;
  }
  return n;
}

/** Keeps marking new pods ready until stopped (a test-side stand-in for the kubelet). */
export function kubeletLoop(skiff: SkiffProcess, ns: string): { stop(): Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      await markPodsReady(skiff, ns);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
    },
  };
}
