/**
 * The CNI plugin's home in the agent: composes the IPAM store and the pod veth code (dataplane/) with
 * the agent as the CniHost (src/cni/plugin.ts), and serves the executable's socket (src/cni/server.ts).
 *
 * Order at start: the allocations are loaded and the socket served at once (until this node's
 * dataplane is open an ADD answers 11 "try again later", a DEL still works); when the dataplane opens,
 * DELs made while the agent was down are finished and the host routes of live attachments are made
 * desired again; then, every minute once the Pod cache is synced, allocations of pods that are gone
 * are freed.
 */
import { join } from 'node:path';
import { CniPlugin } from '../cni/plugin.js';
import { IpamStore, blocksPerFamily } from '../cni/ipam.js';
import { CniServer } from '../cni/server.js';
import { containerVethName, hostVethName, PodNetwork } from '../dataplane/index.js';
import type { CniMetricsAdapter } from '../metrics/index.js';
import type { Agent } from './agent.js';
import type { Logger } from '../model/log.js';

export interface CniOptions {
  stateDir: string;
  runDir: string;
  /** The node's namespace (the agent's --netns). */
  netns?: string;
  vethPrefix?: string;
  /** Period of the collection of allocations whose pods are gone (default 60 s). */
  collectMs?: number;
}

export interface CniService {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly plugin: CniPlugin;
}

export function startCni(agent: Agent, o: CniOptions, log: Logger, metrics?: CniMetricsAdapter): CniService {
  const pods = new PodNetwork({ ...(o.netns ? { netns: o.netns } : {}) });
  const ipam = new IpamStore(o.stateDir);
  const plugin = new CniPlugin({
    stateDir: o.stateDir, ipam, pods, log,
    host: {
      node: () => agent.cniNode(),
      attach: (key, routes) => agent.cniAttach(key, routes),
      detach: (key) => agent.cniDetach(key),
      livePodIps: () => agent.livePodIps(),
    },
    veths: {
      forPod: (ns, name) => hostVethName(ns, name, o.vethPrefix),
      forContainer: (id, ifName) => containerVethName(id, ifName, o.vethPrefix),
    },
  });
  const gauge = () => {
    if (!metrics) return;
    const n = agent.cniNode();
    if (!n.ready) return;
    for (const b of blocksPerFamily(n.podCidrs)) metrics.allocated(b, ipam.used(b));
  };
  const server = new CniServer({
    socketPath: join(o.runDir, 'cni.sock'),
    handle: (r) => plugin.handle(r),
    log,
    observe: (command, code, seconds) => {
      metrics?.request(command, code, seconds);
      gauge();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const collect = () => {
    void plugin.collect().then(gauge, (e: Error) => log.warn({ err: e.message }, 'cni: collection of gone pods failed'));
  };
  const onDataplane = () => {
    void plugin.recover().then(() => {
      gauge();
      if (stopped) return;
      timer = setInterval(collect, o.collectMs ?? 60_000);
      timer.unref();
      collect();
    }, (e: Error) => log.error({ err: e.message }, 'cni: could not recover attachments from the state directory'));
  };
  return {
    plugin,
    async start() {
      await ipam.load();
      await server.start();
      agent.once('dataplane', onDataplane);
      log.info({ socket: join(o.runDir, 'cni.sock'), stateDir: o.stateDir, allocations: ipam.list().length }, 'cni: serving the petrel CNI plugin');
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      agent.off('dataplane', onDataplane);
      await server.close();
      pods.close();
    },
  };
}
