// Typed errors for the built-in fortio image; codes are listed in docs/errors.md by the owner.

/** Fortio version we emulate (printed in banners and the User-Agent). */
export const VERSION = '1.75.2';

/** Stable error codes raised by this app. */
export type FortioErrorCode =
  | 'SKIFF_ERR_FORTIO_USAGE'
  | 'SKIFF_ERR_FORTIO_URL'
  | 'SKIFF_ERR_FORTIO_HEADER'
  | 'SKIFF_ERR_FORTIO_PROXY'
  | 'SKIFF_ERR_FORTIO_WARMUP';

/** An error with a stable `code`; messages are user-facing. */
export class FortioError extends Error {
  readonly code: FortioErrorCode;

  constructor(code: FortioErrorCode, message: string) {
    super(message);
    this.name = 'FortioError';
    this.code = code;
  }
}
