import type { SchemaSource } from './schema-types.ts';

// Generated from k8s.io/api + k8s.io/apimachinery v0.32.9 generated.proto and types.go; see schema-types.ts for the notation.
// A field left out of a table is skipped like any unknown field (ObjectMeta.managedFields is left out on purpose).
/** Message schemas of meta/v1, networking/v1, autoscaling/v1, authentication/v1 and authorization/v1. */
export const miscSchemas: SchemaSource = {
  ObjectMeta: 'name=1:s generateName=2:s namespace=3:s selfLink=4:s uid=5:s resourceVersion=6:s generation=7:l ' +
    'creationTimestamp=8:t deletionTimestamp=9:t! deletionGracePeriodSeconds=10:l! labels=11:{s} annotations=12:{s} ' +
    'ownerReferences=13:OwnerReference* finalizers=14:s*',
  OwnerReference: 'apiVersion=5:s kind=1:s name=3:s uid=4:s controller=6:b! blockOwnerDeletion=7:b!',
  LabelSelector: 'matchLabels=1:{s} matchExpressions=2:LabelSelectorRequirement*',
  LabelSelectorRequirement: 'key=1:s operator=2:s values=3:s*',
  Condition: 'type=1:s status=2:s observedGeneration=3:l lastTransitionTime=4:t reason=5:s message=6:s',
  Ingress: 'metadata=1:ObjectMeta spec=2:IngressSpec status=3:IngressStatus',
  IngressSpec: 'ingressClassName=4:s! defaultBackend=1:IngressBackend! tls=2:IngressTLS* rules=3:IngressRule*',
  IngressBackend: 'service=4:IngressServiceBackend! resource=3:TypedLocalObjectReference!',
  IngressServiceBackend: 'name=1:s port=2:ServiceBackendPort',
  ServiceBackendPort: 'name=1:s number=2:i',
  IngressTLS: 'hosts=1:s* secretName=2:s',
  IngressRule: 'host=1:s ingressRuleValue=2:IngressRuleValue^',
  IngressRuleValue: 'http=1:HTTPIngressRuleValue!',
  HTTPIngressRuleValue: 'paths=1:HTTPIngressPath*',
  HTTPIngressPath: 'path=1:s pathType=3:s! backend=2:IngressBackend',
  IngressStatus: 'loadBalancer=1:IngressLoadBalancerStatus',
  IngressLoadBalancerStatus: 'ingress=1:IngressLoadBalancerIngress*',
  IngressLoadBalancerIngress: 'ip=1:s hostname=2:s ports=4:IngressPortStatus*',
  IngressPortStatus: 'port=1:i protocol=2:s error=3:s!',
  HorizontalPodAutoscaler: 'metadata=1:ObjectMeta spec=2:HorizontalPodAutoscalerSpec ' +
    'status=3:HorizontalPodAutoscalerStatus',
  HorizontalPodAutoscalerSpec: 'scaleTargetRef=1:CrossVersionObjectReference minReplicas=2:i! maxReplicas=3:i ' +
    'targetCPUUtilizationPercentage=4:i!',
  CrossVersionObjectReference: 'kind=1:s name=2:s apiVersion=3:s',
  HorizontalPodAutoscalerStatus: 'observedGeneration=1:l! lastScaleTime=2:t! currentReplicas=3:i desiredReplicas=4:i ' +
    'currentCPUUtilizationPercentage=5:i!',
  TokenRequest: 'metadata=1:ObjectMeta spec=2:TokenRequestSpec status=3:TokenRequestStatus',
  TokenRequestSpec: 'audiences=1:s* expirationSeconds=4:l! boundObjectRef=3:BoundObjectReference!',
  BoundObjectReference: 'kind=1:s apiVersion=2:s name=3:s uid=4:s',
  TokenRequestStatus: 'token=1:s expirationTimestamp=2:t',
  SelfSubjectReview: 'metadata=1:ObjectMeta status=2:SelfSubjectReviewStatus',
  SelfSubjectReviewStatus: 'userInfo=1:UserInfo',
  UserInfo: 'username=1:s uid=2:s groups=3:s*',
  SelfSubjectAccessReview: 'metadata=1:ObjectMeta spec=2:SelfSubjectAccessReviewSpec status=3:SubjectAccessReviewStatus',
  SelfSubjectAccessReviewSpec: 'resourceAttributes=1:ResourceAttributes! nonResourceAttributes=2:NonResourceAttributes!',
  ResourceAttributes: 'namespace=1:s verb=2:s group=3:s version=4:s resource=5:s subresource=6:s name=7:s',
  NonResourceAttributes: 'path=1:s verb=2:s',
  SubjectAccessReviewStatus: 'allowed=1:b reason=2:s evaluationError=3:s denied=4:b',
  SelfSubjectRulesReview: 'metadata=1:ObjectMeta spec=2:SelfSubjectRulesReviewSpec',
  SelfSubjectRulesReviewSpec: 'namespace=1:s',
};
