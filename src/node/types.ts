/** Contracts between the node agent, the pod streams (logs, exec, attach, port-forward) and networking. */

/** How a container's process is started. */
export interface ContainerRuntimeInfo {
  /** Pod namespace and name, and the container's name. */
  namespace: string;
  pod: string;
  container: string;
  /** Full environment the container's process runs with (env, envFrom, POD_IP, PORT, HTTP_PROXY, ...). */
  env: Record<string, string>;
  /** Working directory: inside the pod's sandbox folder. */
  cwd: string;
  /** The pod's loopback address, e.g. 127.42.0.7. */
  podIP: string;
  /** True while the container's main process runs. */
  running: boolean;
  /** The main process id (its process group id as well), when running. */
  pid?: number;
  /**
   * Ports below the unprivileged limit that the pod really listens on elsewhere when Skiff is not root,
   * e.g. {"80": 10080} (also on the pod as the annotation `skiff.dev/port-map`). Absent or empty: none.
   */
  portMap?: Record<string, number>;
}

/** Where a container's logs are, on disk: one file per run, the current and the previous. */
export interface ContainerLogFiles {
  current: string;
  previous?: string;
}

/** What the node agent offers to the stream handlers and to networking. */
export interface NodeRuntime {
  /** The runtime view of a container, or undefined when the pod or container is unknown to this node. */
  container(namespace: string, pod: string, container: string): ContainerRuntimeInfo | undefined;
  /** The log files of a container, or undefined when it never started. */
  logFiles(namespace: string, pod: string, container: string): ContainerLogFiles | undefined;
  /** Attach to the main process's stdio (only when the container has stdin: true). */
  attach?(namespace: string, pod: string, container: string): { stdin?: NodeJS.WritableStream; output: NodeJS.ReadableStream } | undefined;
}

/** Log lines are stored with a timestamp prefix so `--timestamps` and `--since` need no second file. */
export const logLineFormat = 'RFC3339Nano timestamp, one space, then the line as the process wrote it';
