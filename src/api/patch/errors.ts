/** The one error type of the patch component. */

/**
 * A patch that cannot be applied. `status` is the HTTP code the API layer should answer with, chosen
 * as kube-apiserver does: 400 for a malformed patch body, 422 when a well-formed patch does not apply
 * to the object (missing path, failed test, list of lists), 413 for too many JSON patch operations.
 */
export class PatchError extends Error {
  readonly code = 'SKIFF_ERR_PATCH' as const;
  readonly status: number;

  constructor(message: string, status = 400) {
    super(message);
    this.name = 'PatchError';
    this.status = status;
  }
}
