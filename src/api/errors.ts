/** API errors: every failure the API returns is a metav1.Status with a Kubernetes reason. */
import type { Cause, ResourceInfo } from './types.ts';

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'Unauthorized'
  | 'Forbidden'
  | 'Gone'
  | 'Expired'
  | 'InternalError'
  | 'ServiceUnavailable';

const codes: Record<StatusReason, number> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  BadRequest: 400,
  MethodNotAllowed: 405,
  UnsupportedMediaType: 415,
  NotAcceptable: 406,
  RequestEntityTooLarge: 413,
  Unauthorized: 401,
  Forbidden: 403,
  Gone: 410,
  Expired: 410,
  InternalError: 500,
  ServiceUnavailable: 503,
};

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: Cause[];
  retryAfterSeconds?: number;
}

/** An error that is answered as a metav1.Status. */
export class ApiError extends Error {
  readonly code: number;
  constructor(
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.code = codes[reason];
  }

  /** The metav1.Status body. */
  toStatus(): Record<string, unknown> {
    const s: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason === 'Gone' ? 'Gone' : this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/**
 * A validating admission webhook's denial, as the API server answers it: 400 with the webhook's
 * message and no reason (kubectl then prints `Error from server: ...`).
 */
export class AdmissionDenied extends ApiError {
  constructor(message: string) {
    super('BadRequest', message);
  }

  /** The Status without a reason, as the webhook denial status carries none. */
  override toStatus(): Record<string, unknown> {
    const s = super.toStatus();
    delete s.reason;
    return s;
  }
}

/** `pods`, `deployments.apps`: the name Kubernetes uses for a resource in messages. */
export function qualifiedName(info: ResourceInfo): string {
  return info.group ? `${info.resource}.${info.group}` : info.resource;
}

/** 404 for a named object. */
export function notFound(info: ResourceInfo, name: string): ApiError {
  return new ApiError('NotFound', `${qualifiedName(info)} "${name}" not found`, { name, group: info.group || undefined, kind: info.resource });
}

/** 409 AlreadyExists. */
export function alreadyExists(info: ResourceInfo, name: string): ApiError {
  return new ApiError('AlreadyExists', `${qualifiedName(info)} "${name}" already exists`, { name, group: info.group || undefined, kind: info.resource });
}

/** 409 Conflict on a stale resourceVersion. */
export function conflict(info: ResourceInfo, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError {
  return new ApiError('Conflict', `Operation cannot be fulfilled on ${qualifiedName(info)} "${name}": ${why}`, {
    name,
    group: info.group || undefined,
    kind: info.resource,
  });
}

/** 422 Invalid with field causes; kubectl rebuilds its message from details. */
export function invalid(info: ResourceInfo, name: string, causes: Cause[]): ApiError {
  const kindName = info.group ? `${info.kind}.${info.group}` : info.kind;
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const msg = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new ApiError('Invalid', `${kindName} "${name}" is invalid: ${msg}`, { name, group: info.group || undefined, kind: info.kind, causes });
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError('BadRequest', message);
}
