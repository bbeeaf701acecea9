/**
 * JSON Schemas for the part of the Prometheus Operator's monitoring.coreos.com/v1 API that
 * deploy/components/monitoring uses: ServiceMonitor and PrometheusRule. The operator's own CRDs
 * are not available offline (and are not ours to vendor), so these are written from its API
 * reference: field names, types, enums and the Duration pattern. They are deliberately closed
 * (additionalProperties: false) over the fields listed, so a misspelt field fails here instead of
 * being pruned silently by the API server. Extend them when the manifests use more fields.
 */
import Schema from 'typebox/schema';
import type { Obj } from './manifests.js';

/** Prometheus Operator's Duration: e.g. 30s, 1m30s, 2h. */
const duration = { type: 'string', pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' };
const labelName = { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' };
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const metadata = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1 }, namespace: { type: 'string' }, labels: stringMap, annotations: stringMap },
  additionalProperties: false,
};
const labelSelector = {
  type: 'object',
  properties: {
    matchLabels: stringMap,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object', required: ['key', 'operator'],
        properties: { key: { type: 'string' }, operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }, values: { type: 'array', items: { type: 'string' } } },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
};
const relabelConfig = {
  type: 'object',
  properties: {
    sourceLabels: { type: 'array', items: labelName },
    separator: { type: 'string' },
    targetLabel: { type: 'string' },
    regex: { type: 'string' },
    modulus: { type: 'integer', minimum: 0 },
    replacement: { type: 'string' },
    action: { enum: ['replace', 'Replace', 'keep', 'Keep', 'drop', 'Drop', 'hashmod', 'HashMod', 'labelmap', 'LabelMap', 'labeldrop', 'LabelDrop', 'labelkeep', 'LabelKeep', 'lowercase', 'Lowercase', 'uppercase', 'Uppercase', 'keepequal', 'KeepEqual', 'dropequal', 'DropEqual'] },
  },
  additionalProperties: false,
};

export const serviceMonitorSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'monitoring.coreos.com/v1' },
    kind: { const: 'ServiceMonitor' },
    metadata,
    spec: {
      type: 'object',
      required: ['selector', 'endpoints'],
      properties: {
        jobLabel: { type: 'string' },
        targetLabels: { type: 'array', items: { type: 'string' } },
        podTargetLabels: { type: 'array', items: { type: 'string' } },
        selector: labelSelector,
        namespaceSelector: { type: 'object', properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } }, additionalProperties: false },
        sampleLimit: { type: 'integer', minimum: 0 },
        endpoints: {
          type: 'array', minItems: 1,
          items: {
            type: 'object',
            properties: {
              port: { type: 'string' },
              targetPort: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
              path: { type: 'string', pattern: '^/' },
              scheme: { enum: ['http', 'https', 'HTTP', 'HTTPS'] },
              interval: duration,
              scrapeTimeout: duration,
              honorLabels: { type: 'boolean' },
              relabelings: { type: 'array', items: relabelConfig },
              metricRelabelings: { type: 'array', items: relabelConfig },
            },
            additionalProperties: false,
          },
        },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
};

export const prometheusRuleSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'monitoring.coreos.com/v1' },
    kind: { const: 'PrometheusRule' },
    metadata,
    spec: {
      type: 'object',
      properties: {
        groups: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name'],
            properties: {
              name: { type: 'string', minLength: 1 },
              interval: duration,
              rules: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['expr'],
                  properties: {
                    alert: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
                    record: { type: 'string', pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$' },
                    expr: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'integer' }] },
                    for: duration,
                    keep_firing_for: duration,
                    labels: stringMap,
                    annotations: stringMap,
                  },
                  additionalProperties: false,
                  oneOf: [{ required: ['alert'] }, { required: ['record'] }],
                },
              },
            },
            additionalProperties: false,
          },
        },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
};

/** Errors of `o` against `schema`, as "path: message" lines. */
export function schemaErrors(schema: object, o: Obj): string[] {
  const [ok, errors] = Schema.Errors(schema as never, o);
  if (ok) return [];
  return errors.map((e: { instancePath: string; message: string }) => `${e.instancePath || '<root>'}: ${e.message}`);
}
