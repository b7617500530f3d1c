/** The error thrown for a protobuf body that cannot be decoded. */
export class ProtobufError extends Error {
  readonly code = 'SKIFF_ERR_PROTOBUF';

  /** `detail` says what failed and where, e.g. `truncated at byte 17`. */
  constructor(detail: string) {
    super(`cannot decode protobuf body: ${detail}`);
    this.name = 'ProtobufError';
  }
}
