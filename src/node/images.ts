/**
 * The images catalog: which container images Skiff runs with its own implementation (`skiff app <id>`),
 * which are "tool images" whose programs come from this machine, and what happens to any other image.
 * There is no container engine: an image is only a name that selects a program.
 */
import { existsSync } from 'node:fs';

/** How a container's image and command turn into a program to run. */
export type ImageResolution =
  /** A built-in app: argv is [process.execPath, skiffBin, 'app', app, ...args]. */
  | { kind: 'app'; app: string; args: string[] }
  /** A program of this machine: argv[0] is looked up in PATH. */
  | { kind: 'host'; argv: string[] }
  /** Nothing to run: the image is unknown and the container has no command (ErrImagePull). */
  | { kind: 'unknown'; message: string };

/** One entry of the catalog. */
export interface BuiltInImage {
  /** Repositories (without registry, `library/` or tag) that select this entry. */
  repositories: string[];
  /** The app id for `skiff app <id>`, or 'tool' for images whose programs come from the host. */
  app: string;
  /** Arguments the image's entrypoint gets before the container's own args. */
  args?: string[];
  /** Args when the container gives none (the image's CMD). */
  defaultArgs?: string[];
  /** Program names in a container `command` that mean the app itself (e.g. `/usr/bin/fortio`). */
  binaries?: string[];
  /** For tool images: the host program the image's ENTRYPOINT names (args alone are its arguments). */
  entrypoint?: string[];
}

/** The catalog, for error messages and docs. */
export const builtInImages: readonly BuiltInImage[] = [
  { repositories: ['ssongman/userlist'], app: 'userlist' },
  { repositories: ['honester/httpbin', 'kennethreitz/httpbin', 'mccutchen/go-httpbin'], app: 'httpbin' },
  { repositories: ['honester/hello-server'], app: 'hello' },
  // fortio's image runs `fortio server` when no args are given (its CMD).
  { repositories: ['fortio/fortio'], app: 'fortio', defaultArgs: ['server'], binaries: ['fortio'] },
  { repositories: ['istio/examples-bookinfo-productpage-v1'], app: 'bookinfo', args: ['productpage'] },
  { repositories: ['istio/examples-bookinfo-details-v1'], app: 'bookinfo', args: ['details'] },
  { repositories: ['istio/examples-bookinfo-ratings-v1'], app: 'bookinfo', args: ['ratings'] },
  { repositories: ['istio/examples-bookinfo-reviews-v1'], app: 'bookinfo', args: ['reviews', 'v1'] },
  { repositories: ['istio/examples-bookinfo-reviews-v2'], app: 'bookinfo', args: ['reviews', 'v2'] },
  { repositories: ['istio/examples-bookinfo-reviews-v3'], app: 'bookinfo', args: ['reviews', 'v3'] },
  // Istio's proxy image runs Skiff's proxy; its args are pilot-agent's (`proxy sidecar ...`, `proxy router ...`).
  { repositories: ['istio/proxyv2'], app: 'proxy', defaultArgs: ['proxy', 'router'] },
  // Tool images: their programs (sh, sleep, curl, node, python3, ...) are the host's. With no command they
  // sleep forever. Upstream curlimages/curl would exit at once without a command; sleeping keeps the
  // pod around for `kubectl exec`, which is what every course does with it.
  { repositories: ['curlimages/curl'], app: 'tool', entrypoint: ['curl'] },
  { repositories: ['busybox', 'alpine', 'ubuntu', 'debian', 'node', 'python'], app: 'tool' },
];

const byRepository = new Map<string, BuiltInImage>();
for (const img of builtInImages) for (const r of img.repositories) byRepository.set(r, img);

/** The repository of an image reference: registry (docker.io forms), `library/`, tag and digest removed. */
export function imageRepository(image: string): string {
  let s = image.trim();
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > slash) s = s.slice(0, colon);
  s = s.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  s = s.replace(/^library\//, '');
  return s.toLowerCase();
}

/** The built-in catalog entry of an image, if any. */
export function builtInImage(image: string): BuiltInImage | undefined {
  return byRepository.get(imageRepository(image));
}

/** A one-line list of the built-in images, for messages. */
export function catalogSummary(): string {
  return builtInImages.flatMap((i) => i.repositories).join(', ');
}

/** True when `program` is a path to a file or a name found on this machine's PATH. */
function onPath(program: string): boolean {
  if (program.includes('/')) return existsSync(program);
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(`${dir}/${program}`));
}

/** How the image and (already `$(VAR)`-expanded) command and args of a container run. */
export function resolveImage(image: string, container: { command?: string[]; args?: string[] }): ImageResolution {
  const img = builtInImage(image);
  const command = container.command?.length ? container.command : undefined;
  const args = container.args ?? [];
  if (command) {
    // A command naming the app's own binary (`/usr/bin/fortio load ...`) still means the app.
    const base = command[0].split('/').pop() ?? '';
    if (img && img.app !== 'tool' && img.binaries?.includes(base)) return { kind: 'app', app: img.app, args: [...(img.args ?? []), ...command.slice(1), ...args] };
    // Otherwise an explicit command overrides the image: it is a program of this machine.
    return { kind: 'host', argv: [...command, ...args] };
  }
  if (img?.app === 'tool') {
    // Without a command, args go to the image's entrypoint (curl), or are the program themselves (the
    // other images have no entrypoint, only a CMD that args replace).
    // curlimages/curl's entrypoint.sh runs the args themselves when the first names a program
    // (`sleep 365d`, as the course uses it) and hands them to curl otherwise (`-s http://...`).
    if (!args.length) return { kind: 'host', argv: ['sleep', 'infinity'] };
    const asProgram = !img.entrypoint || (!args[0].startsWith('-') && onPath(args[0]));
    return { kind: 'host', argv: asProgram ? args : [...(img.entrypoint ?? []), ...args] };
  }
  if (img) {
    const own = container.args?.length ? args : (img.defaultArgs ?? []);
    return { kind: 'app', app: img.app, args: [...(img.args ?? []), ...own] };
  }
  return {
    kind: 'unknown',
    message:
      `Failed to pull image "${image}": skiff runs no container engine; the image is not one of its built-in images ` +
      `(${catalogSummary()}); set command: [...] to run a program from this machine`,
  };
}
