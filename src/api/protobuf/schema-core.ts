import type { SchemaSource } from './schema-types.ts';

// Generated from k8s.io/api + k8s.io/apimachinery v0.32.9 generated.proto and types.go; see schema-types.ts for the notation.
// A field left out of a table is skipped like any unknown field (ObjectMeta.managedFields is left out on purpose).
/** Message schemas of core/v1 top-level objects other than pods (namespaces, services, config, quota). */
export const coreSchemas: SchemaSource = {
  Namespace: 'metadata=1:ObjectMeta spec=2:NamespaceSpec status=3:NamespaceStatus',
  NamespaceSpec: 'finalizers=1:s*',
  NamespaceStatus: 'phase=1:s conditions=2:NamespaceCondition*',
  NamespaceCondition: 'type=1:s status=2:s lastTransitionTime=4:t reason=5:s message=6:s',
  Service: 'metadata=1:ObjectMeta spec=2:ServiceSpec status=3:ServiceStatus',
  ServiceSpec: 'ports=1:ServicePort* selector=2:{s} clusterIP=3:s clusterIPs=18:s* type=4:s externalIPs=5:s* ' +
    'sessionAffinity=7:s loadBalancerIP=8:s loadBalancerSourceRanges=9:s* externalName=10:s ' +
    'externalTrafficPolicy=11:s healthCheckNodePort=12:i publishNotReadyAddresses=13:b ' +
    'sessionAffinityConfig=14:SessionAffinityConfig! ipFamilies=19:s* ipFamilyPolicy=17:s! ' +
    'allocateLoadBalancerNodePorts=20:b! loadBalancerClass=21:s! internalTrafficPolicy=22:s! ' +
    'trafficDistribution=23:s!',
  ServicePort: 'name=1:s protocol=2:s appProtocol=6:s! port=3:i targetPort=4:n nodePort=5:i',
  ClientIPConfig: 'timeoutSeconds=1:i!',
  ServiceStatus: 'loadBalancer=1:LoadBalancerStatus conditions=2:Condition*',
  LoadBalancerStatus: 'ingress=1:LoadBalancerIngress*',
  LoadBalancerIngress: 'ip=1:s hostname=2:s ipMode=3:s! ports=4:PortStatus*',
  PortStatus: 'port=1:i protocol=2:s error=3:s!',
  ConfigMap: 'metadata=1:ObjectMeta immutable=4:b! data=2:{s} binaryData=3:{y}',
  Secret: 'metadata=1:ObjectMeta immutable=5:b! data=2:{y} stringData=4:{s} type=3:s',
  ServiceAccount: 'metadata=1:ObjectMeta secrets=2:ObjectReference* imagePullSecrets=3:LocalObjectReference* ' +
    'automountServiceAccountToken=4:b!',
  ObjectReference: 'kind=1:s namespace=2:s name=3:s uid=4:s apiVersion=5:s resourceVersion=6:s fieldPath=7:s',
  ResourceQuota: 'metadata=1:ObjectMeta spec=2:ResourceQuotaSpec status=3:ResourceQuotaStatus',
  ResourceQuotaSpec: 'hard=1:{q} scopes=2:s* scopeSelector=3:ScopeSelector!',
  ResourceQuotaStatus: 'hard=1:{q} used=2:{q}',
};
