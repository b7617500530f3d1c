/** Patch application for the API layer: JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386) and Kubernetes strategic merge patch. */

export { PatchError } from './errors.ts';
export { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from './json-patch.ts';
export { applyMergePatch } from './merge-patch.ts';
export { applyStrategicMergePatch } from './strategic.ts';
export { knownResourceKeys } from './schema.ts';
