/**
 * The `petrel` subcommands, one line each. Each command lives in its own module, imported only when
 * it runs (so `petrel status` does not load the speaker, the Kubernetes client or netlink).
 * run() returns the exit status: 0 ok, 1 failure, 2 usage or configuration error.
 */
export interface Command {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const commands: Command[] = [
  { name: 'speaker', summary: 'run a standalone BGP speaker / route reflector from a YAML file (--config FILE)', run: async (a) => (await import('./speaker.js')).run(a) },
  { name: 'status', summary: 'show BGP peers of a running speaker (--json, --api URL)', run: async (a) => (await import('./status.js')).run(a) },
  { name: 'routes', summary: 'show the Loc-RIB of a running speaker (--json, --api URL, --prefix P)', run: async (a) => (await import('./routes.js')).run(a) },
  { name: 'agent', summary: 'run the node agent (DaemonSet): BGP per cluster topology, kernel routes (--node-name, --kubeconfig, ...)', run: async (a) => (await import('./agent.js')).run(a, 'agent') },
  { name: 'reflector', summary: 'run a cluster route reflector (Deployment on route-reflector nodes; no kernel routes)', run: async (a) => (await import('./agent.js')).run(a, 'reflector') },
  { name: 'install-cni', summary: 'install the CNI plugin and 10-petrel.conflist on this node (--bin-dir, --conf-dir, --state-dir, --run-dir)', run: async (a) => (await import('./install-cni.js')).run(a) },
  { name: 'lab', summary: 'the demo cluster in network namespaces: lab up [--keep] | lab status | lab down (needs root)', run: async (a) => (await import('./lab.js')).run(a) },
  { name: 'cleanup', summary: 'remove every route, tunnel and NAT table Petrel owns on this node (--yes; --netns NAME)', run: async (a) => (await import('./cleanup.js')).run(a) },
  { name: 'version', summary: 'print the version', run: async (a) => (await import('./version.js')).run(a) },
];
