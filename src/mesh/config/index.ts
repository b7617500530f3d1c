/** Skiff's own CustomResourceDefinitions for the Istio configuration API. */
import type { KObject } from '../../api/types.ts';
import { networkingCrds } from './networking.ts';
import { securityCrds } from './security.ts';
import { telemetryCrds } from './telemetry.ts';

export { NETWORKING_GROUP } from './networking.ts';
export { SECURITY_GROUP } from './security.ts';
export { TELEMETRY_GROUP } from './telemetry.ts';

/** Skiff's CustomResourceDefinitions for the Istio API, installed on first start. */
export function istioCrds(): KObject[] {
  return [...networkingCrds(), ...securityCrds(), ...telemetryCrds()];
}
