/**
 * Process-level behaviour shared by the long-running commands (agent, reflector, speaker).
 *
 * Signals: the first SIGTERM or SIGINT starts the graceful shutdown; any further one while it runs is
 * logged and ignored, as BIRD and FRR keep shutting down on a repeated signal (a second SIGTERM used to
 * end the process with status 143 halfway through its Cease messages, because the handler was
 * registered with `once`). The shutdown is bounded by the command's own deadline; SIGKILL forces.
 *
 * Boundaries: `guarded()` wraps a callback the CLI layer hands to a signal, timer or event emitter.
 * An unexpected throw (or rejection) there is a bug: it is logged with its stack and counted, and the
 * process carries on — no process-wide uncaughtException handler swallows errors from the core.
 */
import type { Logger } from '../model/log.js';

export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

/** Calls `shutdown` once, on the first SIGTERM/SIGINT; later ones are logged and ignored. */
export function onShutdownSignals(log: Logger, shutdown: (signal: ShutdownSignal) => void): () => void {
  let first: ShutdownSignal | undefined;
  const handlers = (['SIGTERM', 'SIGINT'] as const).map((signal) => {
    const h = () => {
      if (first) {
        log.warn({ signal, first }, 'already shutting down: signal ignored (the shutdown is bounded; SIGKILL forces an exit)');
        return;
      }
      first = signal;
      shutdown(signal);
    };
    process.on(signal, h);
    return [signal, h] as const;
  });
  return () => {
    for (const [s, h] of handlers) process.off(s, h);
  };
}

/**
 * `fn`, but a throw or a rejected promise from it is logged (with the stack) and counted under
 * `where` instead of becoming an uncaught exception.
 */
export function guarded<A extends unknown[]>(
  where: string,
  log: Logger,
  count: ((where: string) => void) | undefined,
  fn: (...args: A) => unknown,
): (...args: A) => void {
  const fail = (err: unknown) => {
    count?.(where);
    log.error({ where, err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, `unexpected error in ${where} (a bug); the process continues`);
  };
  return (...args: A) => {
    try {
      const r = fn(...args);
      if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  };
}
