/** Types of the compact schema tables and of their compiled form. */

/**
 * Message name → space-separated fields `jsonName=number:type[flags]`.
 * Types: `s` string, `b` bool, `i` int32, `l` int64, `y` bytes (base64 in JSON), `t` meta.v1.Time,
 * `m` meta.v1.MicroTime, `n` IntOrString, `q` resource.Quantity, `r` runtime.RawExtension, a capitalised
 * name for another message, `{T}` for map<string, T>. Flags: `*` repeated; `!` keep zero values, for Go
 * pointer fields (present on the wire only when set) and spec `replicas`; `^` a Go inline struct,
 * whose fields are flattened into the parent.
 */
export type SchemaSource = Record<string, string>;

/** Wire-level shape of a field's values. */
export type FieldType = 's' | 'b' | 'i' | 'l' | 'y' | 't' | 'm' | 'n' | 'q' | 'r' | MessageSchema;

/** One compiled field. */
export interface FieldSchema {
  name: string;
  type: FieldType;
  repeated: boolean;
  map: boolean;
  keep: boolean;
  inline: boolean;
}

/** One compiled message: field number → field. */
export interface MessageSchema {
  name: string;
  fields: Map<number, FieldSchema>;
}
