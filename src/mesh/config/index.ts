/** Skiff's own CustomResourceDefinitions for the Istio configuration API, Istio's webhook validation and `istioctl analyze`. */
import type { KObject } from '../../api/types.ts';
import { networkingCrds } from './networking.ts';
import { securityCrds } from './security.ts';
import { telemetryCrds } from './telemetry.ts';

export { NETWORKING_GROUP } from './networking.ts';
export { SECURITY_GROUP } from './security.ts';
export { TELEMETRY_GROUP } from './telemetry.ts';
export {
  ISTIO_WEBHOOK_NAME, isIstioKind, validateIstioObject, WEBHOOK_DENIAL_STATUS, webhookDenialMessage,
  type IstioValidationResult,
} from './validate.ts';
export { analysisFailure, analyze, formatAnalysis, type AnalysisMessage, type AnalyzeOptions } from './analyze.ts';
export { MESSAGES as ANALYSIS_MESSAGES, type AnalysisLevel } from './analyze-messages.ts';

/** Skiff's CustomResourceDefinitions for the Istio API, installed on first start. */
export function istioCrds(): KObject[] {
  return [...networkingCrds(), ...securityCrds(), ...telemetryCrds()];
}
