/**
 * The logger every layer takes: the subset of pino's API Petrel calls (structured object first,
 * message second), so domain code depends on no logging library and tests pass a silent one.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
