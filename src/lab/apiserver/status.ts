/**
 * Errors as kube-apiserver reports them: a `Status` object (apiVersion v1, kind Status, status Failure)
 * with an HTTP code, a machine `reason` (NotFound, AlreadyExists, Conflict, Invalid, Gone/Expired, ...)
 * and details. kubectl prints `Error from server (<reason>): <message>` from exactly these fields.
 */
import { PetrelError } from '../../errors.js';

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: Array<{ reason: string; message: string; field: string }> };
  code: number;
}

export class ApiStatusError extends PetrelError {
  readonly httpCode: number;
  readonly reason: string;
  readonly details: StatusBody['details'];
  constructor(httpCode: number, reason: string, message: string, details?: StatusBody['details']) {
    super(`APISERVER_${reason.toUpperCase()}`, message);
    this.httpCode = httpCode;
    this.reason = reason;
    this.details = details;
  }
  toStatus(): StatusBody {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason,
      ...(this.details ? { details: this.details } : {}), code: this.httpCode };
  }
  static badRequest(msg: string): ApiStatusError { return new ApiStatusError(400, 'BadRequest', msg); }
  static notFound(resource: string, name: string, group = ''): ApiStatusError {
    return new ApiStatusError(404, 'NotFound', `${resource}${group ? `.${group}` : ''} "${name}" not found`, { name, group, kind: resource });
  }
  static alreadyExists(resource: string, name: string, group = ''): ApiStatusError {
    return new ApiStatusError(409, 'AlreadyExists', `${resource}${group ? `.${group}` : ''} "${name}" already exists`, { name, group, kind: resource });
  }
  static conflict(resource: string, name: string, group = ''): ApiStatusError {
    return new ApiStatusError(409, 'Conflict',
      `Operation cannot be fulfilled on ${resource}${group ? `.${group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group, kind: resource });
  }
  static invalid(kind: string, name: string, causes: Array<{ field: string; message: string }>, group = ''): ApiStatusError {
    const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    return new ApiStatusError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${text}`,
      { name, group, kind, causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })) });
  }
  /** HTTP 410 / watch ERROR 410: the requested resourceVersion or continue token was compacted away. */
  static expired(message: string): ApiStatusError { return new ApiStatusError(410, 'Expired', message); }
  static gone(message: string): ApiStatusError { return new ApiStatusError(410, 'Gone', message); }
  static unauthorized(): ApiStatusError { return new ApiStatusError(401, 'Unauthorized', 'Unauthorized'); }
  static internal(message: string): ApiStatusError { return new ApiStatusError(500, 'InternalError', message); }
  static methodNotAllowed(message: string): ApiStatusError { return new ApiStatusError(405, 'MethodNotAllowed', message); }
  static unsupportedMediaType(ct: string): ApiStatusError { return new ApiStatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${ct})`); }
}
