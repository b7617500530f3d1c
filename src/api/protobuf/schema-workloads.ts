import type { SchemaSource } from './schema-types.ts';

// Generated from k8s.io/api + k8s.io/apimachinery v0.32.9 generated.proto and types.go; see schema-types.ts for the notation.
// A field left out of a table is skipped like any unknown field (ObjectMeta.managedFields is left out on purpose).
/** Message schemas of apps/v1 and batch/v1. */
export const workloadSchemas: SchemaSource = {
  Deployment: 'metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:DeploymentStatus',
  DeploymentSpec: 'replicas=1:i! selector=2:LabelSelector! template=3:PodTemplateSpec strategy=4:DeploymentStrategy ' +
    'minReadySeconds=5:i revisionHistoryLimit=6:i! paused=7:b progressDeadlineSeconds=9:i!',
  DeploymentStrategy: 'type=1:s rollingUpdate=2:RollingUpdateDeployment!',
  RollingUpdateDeployment: 'maxUnavailable=1:n! maxSurge=2:n!',
  DeploymentStatus: 'observedGeneration=1:l replicas=2:i updatedReplicas=3:i readyReplicas=7:i availableReplicas=4:i ' +
    'unavailableReplicas=5:i conditions=6:DeploymentCondition* collisionCount=8:i!',
  DeploymentCondition: 'type=1:s status=2:s lastUpdateTime=6:t lastTransitionTime=7:t reason=4:s message=5:s',
  ReplicaSet: 'metadata=1:ObjectMeta spec=2:ReplicaSetSpec status=3:ReplicaSetStatus',
  ReplicaSetSpec: 'replicas=1:i! minReadySeconds=4:i selector=2:LabelSelector! template=3:PodTemplateSpec',
  ReplicaSetStatus: 'replicas=1:i fullyLabeledReplicas=2:i readyReplicas=4:i availableReplicas=5:i ' +
    'observedGeneration=3:l conditions=6:ReplicaSetCondition*',
  ReplicaSetCondition: 'type=1:s status=2:s lastTransitionTime=3:t reason=4:s message=5:s',
  DaemonSet: 'metadata=1:ObjectMeta spec=2:DaemonSetSpec status=3:DaemonSetStatus',
  DaemonSetSpec: 'selector=1:LabelSelector! template=2:PodTemplateSpec updateStrategy=3:DaemonSetUpdateStrategy ' +
    'minReadySeconds=4:i revisionHistoryLimit=6:i!',
  DaemonSetUpdateStrategy: 'type=1:s rollingUpdate=2:RollingUpdateDaemonSet!',
  RollingUpdateDaemonSet: 'maxUnavailable=1:n! maxSurge=2:n!',
  DaemonSetStatus: 'currentNumberScheduled=1:i numberMisscheduled=2:i desiredNumberScheduled=3:i numberReady=4:i ' +
    'observedGeneration=5:l updatedNumberScheduled=6:i numberAvailable=7:i numberUnavailable=8:i collisionCount=9:i! ' +
    'conditions=10:DaemonSetCondition*',
  DaemonSetCondition: 'type=1:s status=2:s lastTransitionTime=3:t reason=4:s message=5:s',
  StatefulSet: 'metadata=1:ObjectMeta spec=2:StatefulSetSpec status=3:StatefulSetStatus',
  StatefulSetSpec: 'replicas=1:i! selector=2:LabelSelector! template=3:PodTemplateSpec ' +
    'volumeClaimTemplates=4:PersistentVolumeClaim* serviceName=5:s podManagementPolicy=6:s ' +
    'updateStrategy=7:StatefulSetUpdateStrategy revisionHistoryLimit=8:i! minReadySeconds=9:i ' +
    'persistentVolumeClaimRetentionPolicy=10:StatefulSetPersistentVolumeClaimRetentionPolicy! ' +
    'ordinals=11:StatefulSetOrdinals!',
  StatefulSetUpdateStrategy: 'type=1:s rollingUpdate=2:RollingUpdateStatefulSetStrategy!',
  RollingUpdateStatefulSetStrategy: 'partition=1:i! maxUnavailable=2:n!',
  StatefulSetPersistentVolumeClaimRetentionPolicy: 'whenDeleted=1:s whenScaled=2:s',
  StatefulSetOrdinals: 'start=1:i',
  StatefulSetStatus: 'observedGeneration=1:l replicas=2:i readyReplicas=3:i currentReplicas=4:i updatedReplicas=5:i ' +
    'currentRevision=6:s updateRevision=7:s collisionCount=9:i! conditions=10:StatefulSetCondition* ' +
    'availableReplicas=11:i',
  StatefulSetCondition: 'type=1:s status=2:s lastTransitionTime=3:t reason=4:s message=5:s',
  Job: 'metadata=1:ObjectMeta spec=2:JobSpec status=3:JobStatus',
  JobSpec: 'parallelism=1:i! completions=2:i! activeDeadlineSeconds=3:l! podFailurePolicy=11:PodFailurePolicy! ' +
    'successPolicy=16:SuccessPolicy! backoffLimit=7:i! backoffLimitPerIndex=12:i! maxFailedIndexes=13:i! ' +
    'selector=4:LabelSelector! manualSelector=5:b! template=6:PodTemplateSpec ttlSecondsAfterFinished=8:i! ' +
    'completionMode=9:s! suspend=10:b! podReplacementPolicy=14:s! managedBy=15:s!',
  PodFailurePolicy: 'rules=1:PodFailurePolicyRule*',
  PodFailurePolicyRule: 'action=1:s onExitCodes=2:PodFailurePolicyOnExitCodesRequirement! ' +
    'onPodConditions=3:PodFailurePolicyOnPodConditionsPattern*',
  PodFailurePolicyOnExitCodesRequirement: 'containerName=1:s! operator=2:s values=3:i*',
  PodFailurePolicyOnPodConditionsPattern: 'type=1:s status=2:s',
  SuccessPolicy: 'rules=1:SuccessPolicyRule*',
  SuccessPolicyRule: 'succeededIndexes=1:s! succeededCount=2:i!',
  JobStatus: 'conditions=1:JobCondition* startTime=2:t! completionTime=3:t! active=4:i succeeded=5:i failed=6:i ' +
    'terminating=11:i! completedIndexes=7:s failedIndexes=10:s! uncountedTerminatedPods=8:UncountedTerminatedPods! ' +
    'ready=9:i!',
  JobCondition: 'type=1:s status=2:s lastProbeTime=3:t lastTransitionTime=4:t reason=5:s message=6:s',
  UncountedTerminatedPods: 'succeeded=1:s* failed=2:s*',
  CronJob: 'metadata=1:ObjectMeta spec=2:CronJobSpec status=3:CronJobStatus',
  CronJobSpec: 'schedule=1:s timeZone=8:s! startingDeadlineSeconds=2:l! concurrencyPolicy=3:s suspend=4:b! ' +
    'jobTemplate=5:JobTemplateSpec successfulJobsHistoryLimit=6:i! failedJobsHistoryLimit=7:i!',
  JobTemplateSpec: 'metadata=1:ObjectMeta spec=2:JobSpec',
  CronJobStatus: 'active=1:ObjectReference* lastScheduleTime=4:t! lastSuccessfulTime=5:t!',
};
