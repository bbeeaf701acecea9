/** The production Clock: Node's timers. Tests inject test/helpers/fake-clock.ts instead. */
import type { Clock } from './types.js';

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};
