/** The module's bytes, assembled from WebAssembly text. */
export function assemble(watText: string): Promise<Buffer>;
/** The generated TypeScript holding `bytes`. */
export function generated(bytes: Buffer): string;
