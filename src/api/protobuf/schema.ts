import { coreSchemas } from './schema-core.ts';
import { corePodSchemas } from './schema-core-pod.ts';
import { coreVolumeSchemas } from './schema-core-volume.ts';
import { workloadSchemas } from './schema-workloads.ts';
import { miscSchemas } from './schema-misc.ts';
import type { FieldType, MessageSchema, SchemaSource } from './schema-types.ts';

/** apiVersion and kind of every top-level object the decoder accepts → its message name. */
const KINDS: Record<string, string> = {
  'v1/Namespace': 'Namespace',
  'v1/Pod': 'Pod',
  'v1/Service': 'Service',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/ResourceQuota': 'ResourceQuota',
  'v1/PersistentVolumeClaim': 'PersistentVolumeClaim',
  'apps/v1/Deployment': 'Deployment',
  'apps/v1/ReplicaSet': 'ReplicaSet',
  'apps/v1/DaemonSet': 'DaemonSet',
  'apps/v1/StatefulSet': 'StatefulSet',
  'batch/v1/Job': 'Job',
  'batch/v1/CronJob': 'CronJob',
  'networking.k8s.io/v1/Ingress': 'Ingress',
  'autoscaling/v1/HorizontalPodAutoscaler': 'HorizontalPodAutoscaler',
  'authentication.k8s.io/v1/TokenRequest': 'TokenRequest',
  'authentication.k8s.io/v1/SelfSubjectReview': 'SelfSubjectReview',
  'authorization.k8s.io/v1/SelfSubjectAccessReview': 'SelfSubjectAccessReview',
  'authorization.k8s.io/v1/SelfSubjectRulesReview': 'SelfSubjectRulesReview',
};

const SCALARS = new Set(['s', 'b', 'i', 'l', 'y', 't', 'm', 'n', 'q', 'r']);
const FIELD = /^(\w+)=(\d+):(\{?)(\w+)\}?([*!^]*)$/;

/** Every schema table merged, for the test encoder and for compiling. */
export const schemaSources: SchemaSource = {
  ...coreSchemas, ...corePodSchemas, ...coreVolumeSchemas, ...workloadSchemas, ...miscSchemas,
};

// Compiled once at load; a malformed table is a programming error, so it throws a plain Error.
function compile(sources: SchemaSource): Map<string, MessageSchema> {
  const out = new Map<string, MessageSchema>();
  for (const name of Object.keys(sources)) out.set(name, { name, fields: new Map() });
  for (const [name, text] of Object.entries(sources)) {
    const fields = out.get(name)!.fields;
    for (const token of text.split(' ')) {
      const m = FIELD.exec(token);
      if (!m) throw new Error(`bad protobuf schema token "${token}" in ${name}`);
      const [, fieldName, num, brace, typeName, flags] = m;
      const type = SCALARS.has(typeName) ? (typeName as FieldType) : out.get(typeName);
      if (!type) throw new Error(`protobuf schema ${name}.${fieldName} refers to unknown message ${typeName}`);
      fields.set(Number(num), {
        name: fieldName, type, map: brace === '{', repeated: flags.includes('*'),
        keep: flags.includes('!'), inline: flags.includes('^'),
      });
    }
  }
  return out;
}

/** Compiled messages by name. */
export const messages = compile(schemaSources);

/** The message for a top-level object, or undefined when the kind is not supported. */
export function messageForKind(apiVersion: string, kind: string): MessageSchema | undefined {
  const name = KINDS[`${apiVersion}/${kind}`];
  return name === undefined ? undefined : messages.get(name);
}

/** Supported top-level kinds as `apiVersion/Kind`. */
export const supportedKinds: readonly string[] = Object.keys(KINDS);
