/**
 * Liveness and readiness, as named checks (the shape kube-apiserver's /livez and /readyz use: each
 * check passes or fails with a message; `?verbose` lists them all).
 *
 * - Liveness answers "should the kubelet restart this process?". It must not depend on the API
 *   server or on peers: restarting Petrel because a peer is down would only drop more routes. By
 *   default the process is live when its event loop answers; the agent may add a watchdog check.
 * - Readiness answers "is this node's routing up?", so a rolling update of the DaemonSet
 *   (maxUnavailable 1) waits for each agent before stopping the next. As Calico does: ready once the
 *   caches have synced and BGP is up — during a grace period after start every configured peer
 *   must be Established; after it, at least one (a peer that is down for good must not block the
 *   rollout forever, and a node with no peer at all has nothing to wait for).
 *
 * The functions here are pure (time is an argument) so they are tested without clocks or sockets.
 */

export interface HealthCheck {
  /** Short, stable, lower-case name, e.g. 'k8s-caches', 'bgp-peers'. */
  name: string;
  ok: boolean;
  /** What is wrong (or right): one line, no secrets. */
  message?: string;
}

/** A set of checks, evaluated on each request. May be async; a throw counts as a failed check. */
export type CheckSource = () => HealthCheck[] | Promise<HealthCheck[]>;

export interface BgpReadinessInput {
  /** ms since epoch, now and when the process (or its BGP speaker) started. */
  now: number;
  startedAt: number;
  /** Grace period in ms during which every configured peer must be Established. */
  allPeersWithinMs: number;
  peers: ReadonlyArray<{ address: string; established: boolean }>;
}

/** The BGP part of readiness (see the file header). */
export function bgpReadiness(i: BgpReadinessInput): HealthCheck {
  const total = i.peers.length;
  if (total === 0) return { name: 'bgp-peers', ok: true, message: 'no BGP peers configured' };
  const down = i.peers.filter((p) => !p.established).map((p) => p.address);
  const up = total - down.length;
  if (down.length === 0) return { name: 'bgp-peers', ok: true, message: `${up} of ${total} peers Established` };
  const list = down.length <= 5 ? down.join(', ') : `${down.slice(0, 5).join(', ')} and ${down.length - 5} more`;
  const elapsed = i.now - i.startedAt;
  if (elapsed < i.allPeersWithinMs) {
    const left = Math.ceil((i.allPeersWithinMs - elapsed) / 1000);
    return { name: 'bgp-peers', ok: false, message: `waiting for every peer (${up} of ${total} Established, ${left}s of grace left); not Established: ${list}` };
  }
  if (up > 0) return { name: 'bgp-peers', ok: true, message: `${up} of ${total} peers Established; not Established: ${list}` };
  return { name: 'bgp-peers', ok: false, message: `no peer Established (0 of ${total}); not Established: ${list}` };
}

/** The Kubernetes part of readiness: every watched resource's cache holds a complete LIST. */
export function cachesSynced(synced: Readonly<Record<string, boolean>>): HealthCheck {
  const missing = Object.entries(synced).filter(([, s]) => !s).map(([r]) => r);
  if (missing.length === 0) return { name: 'k8s-caches', ok: true, message: `${Object.keys(synced).length} caches synced` };
  return { name: 'k8s-caches', ok: false, message: `not synced yet: ${missing.join(', ')}` };
}

/** Runs a check source with a time bound; a throw or a timeout becomes one failed check. */
export async function runChecks(source: CheckSource, timeoutMs: number): Promise<HealthCheck[]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<HealthCheck[]>((resolve) => {
      timer = setTimeout(() => resolve([{ name: 'checks', ok: false, message: `checks did not answer within ${timeoutMs} ms` }]), timeoutMs);
    });
    return await Promise.race([Promise.resolve().then(source), timeout]);
  } catch (err) {
    return [{ name: 'checks', ok: false, message: `check failed: ${err instanceof Error ? err.message : String(err)}` }];
  } finally {
    clearTimeout(timer);
  }
}

/** The body of a /livez or /readyz answer: 'ok' or the failures; with verbose, every check. */
export function renderChecks(checks: HealthCheck[], verbose: boolean): { ok: boolean; body: string } {
  const ok = checks.every((c) => c.ok);
  const lines: string[] = [];
  for (const c of checks) {
    if (verbose || !c.ok) lines.push(`[${c.ok ? '+' : '-'}]${c.name} ${c.ok ? 'ok' : 'failed'}${c.message ? `: ${c.message.replace(/\s+/g, ' ')}` : ''}`);
  }
  lines.push(ok ? 'ok' : 'not ok');
  return { ok, body: `${lines.join('\n')}\n` };
}
