/**
 * Client side of the speaker's status API (GET /status, GET /routes), shared by `petrel status` and
 * `petrel routes`. Bounded: one request, 10 s timeout.
 */
import { PetrelError } from '../errors.js';
import { httpUrl } from './args.js';

export class ApiError extends PetrelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_API_ERROR', message, options);
  }
}

/** GET api/path as JSON. A malformed `api` is a UsageError (exit 2); no or a bad answer an ApiError (exit 1). */
export async function getJson<T>(api: string, path: string): Promise<T> {
  const base = httpUrl(api, '--api').href;
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    throw new ApiError(`cannot reach the speaker at ${url.origin} (${cause?.code ?? (e as Error).message}); is \`petrel speaker\` running with http enabled?`, { cause: e });
  }
  if (!res.ok) throw new ApiError(`${url.href}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  try {
    return (await res.json()) as T;
  } catch (e) {
    throw new ApiError(`${url.href}: the answer is not JSON (${(e as Error).message}); is this a petrel status API?`, { cause: e });
  }
}
