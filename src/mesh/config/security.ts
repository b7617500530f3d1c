/** CustomResourceDefinitions of security.istio.io: mTLS, JWT and authorization policies. */
import type { KObject } from '../../api/types.ts';
import {
  ageColumn, arr, bool, crd, duration, mapOf, matchLabels, obj, oneOfStr, policyTargets, str, strings,
  type Schema,
} from './schema.ts';

/** The API group of Istio's security policies. */
export const SECURITY_GROUP = 'security.istio.io';

// Security kinds are served at v1 and v1beta1, stored at v1.
const VERSIONS = ['v1', 'v1beta1'];

/** An array of non-empty strings (JWT claims, audiences, header names). */
function nonEmptyStrings(): Schema {
  return arr(str({ minLength: 1 }));
}

/** PeerAuthentication: which mTLS mode a workload's inbound traffic accepts. */
function peerAuthentication(): KObject {
  function mtls(): Schema {
    return obj({ mode: oneOfStr('UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT') });
  }
  return crd({
    group: SECURITY_GROUP,
    kind: 'PeerAuthentication',
    plural: 'peerauthentications',
    shortNames: ['pa'],
    versions: VERSIONS,
    storage: 'v1',
    columns: [
      {
        name: 'Mode',
        type: 'string',
        jsonPath: '.spec.mtls.mode',
        description: 'Defines the mTLS mode used for peer authentication.',
      },
      ageColumn(),
    ],
    spec: obj({ selector: matchLabels(), mtls: mtls(), portLevelMtls: mapOf(mtls()) }),
  });
}

/** The `from.source` fields of an authorization rule. */
function source(): Schema {
  const fields = ['principals', 'requestPrincipals', 'namespaces', 'ipBlocks', 'remoteIpBlocks', 'trustDomains'];
  const props: Record<string, Schema> = {};
  for (const f of fields) {
    props[f] = strings();
    props[`not${f[0].toUpperCase()}${f.slice(1)}`] = strings();
  }
  props.serviceAccounts = arr(str(), { maxItems: 16 });
  props.notServiceAccounts = arr(str(), { maxItems: 16 });
  return obj(props);
}

/** The `to.operation` fields of an authorization rule. */
function operation(): Schema {
  const props: Record<string, Schema> = {};
  for (const f of ['hosts', 'ports', 'methods', 'paths']) {
    props[f] = strings();
    props[`not${f[0].toUpperCase()}${f.slice(1)}`] = strings();
  }
  return obj(props);
}

/** AuthorizationPolicy: allow, deny, audit or delegate requests to a workload. */
function authorizationPolicy(): KObject {
  return crd({
    group: SECURITY_GROUP,
    kind: 'AuthorizationPolicy',
    plural: 'authorizationpolicies',
    shortNames: ['ap'],
    versions: VERSIONS,
    storage: 'v1',
    columns: [
      { name: 'Action', type: 'string', jsonPath: '.spec.action', description: 'The operation to take.' },
      ageColumn(),
    ],
    spec: obj({
      ...policyTargets(),
      rules: arr(
        obj({
          from: arr(obj({ source: source() }), { maxItems: 512 }),
          to: arr(obj({ operation: operation() })),
          when: arr(obj({ key: str(), values: strings(), notValues: strings() }, ['key'])),
        }),
        { maxItems: 512 },
      ),
      action: oneOfStr('ALLOW', 'DENY', 'AUDIT', 'CUSTOM'),
      provider: obj({ name: str() }),
    }),
  });
}

/** RequestAuthentication: which JWTs a workload accepts. */
function requestAuthentication(): KObject {
  function uri(): Schema {
    return str({ minLength: 1, maxLength: 2048 });
  }
  return crd({
    group: SECURITY_GROUP,
    kind: 'RequestAuthentication',
    plural: 'requestauthentications',
    shortNames: ['ra'],
    versions: VERSIONS,
    storage: 'v1',
    spec: obj({
      ...policyTargets(),
      jwtRules: arr(
        obj({
          issuer: str({ minLength: 1 }),
          audiences: nonEmptyStrings(),
          jwksUri: uri(),
          jwks_uri: uri(),
          jwks: str(),
          fromHeaders: arr(obj({ name: str({ minLength: 1 }), prefix: str() }, ['name'])),
          fromParams: nonEmptyStrings(),
          fromCookies: nonEmptyStrings(),
          outputPayloadToHeader: str(),
          forwardOriginalToken: bool(),
          outputClaimToHeaders: arr(
            obj({ header: str({ minLength: 1 }), claim: str({ minLength: 1 }) }, ['header', 'claim']),
          ),
          spaceDelimitedClaims: arr(str({ minLength: 1 }), { maxItems: 64 }),
          timeout: duration(),
          presence: oneOfStr('OPTIONAL', 'REQUIRED'),
        }),
        { maxItems: 4096 },
      ),
    }),
  });
}

/** The security.istio.io CRDs Skiff serves. */
export function securityCrds(): KObject[] {
  return [peerAuthentication(), authorizationPolicy(), requestAuthentication()];
}
