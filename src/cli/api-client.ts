/**
 * Client side of the speaker's status API (GET /status, GET /routes), shared by `petrel status` and
 * `petrel routes`. Bounded: one request, 10 s timeout.
 */
import { PetrelError } from '../errors.js';

export class ApiError extends PetrelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_API_ERROR', message, options);
  }
}

export async function getJson<T>(api: string, path: string): Promise<T> {
  const url = new URL(path, api.endsWith('/') ? api : `${api}/`);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    throw new ApiError(`cannot reach the speaker at ${url.origin} (${cause?.code ?? (e as Error).message}); is \`petrel speaker\` running with http enabled?`, { cause: e });
  }
  if (!res.ok) throw new ApiError(`${url.href}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
