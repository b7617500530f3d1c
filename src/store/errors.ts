/** Store errors carry a reason that the API layer maps to a Kubernetes Status. */
export type StoreErrorReason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Closed';

export class StoreError extends Error {
  readonly code = 'SKIFF_ERR_STORE';
  constructor(
    readonly reason: StoreErrorReason,
    readonly key: string,
  ) {
    super(`store: ${reason} ${key}`);
  }
}
