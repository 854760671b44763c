/**
 * The manifests of deploy/kubernetes/, checked offline: no Kubernetes server runs here, and kubectl's
 * own validation needs one. Each object is checked against the Kubernetes OpenAPI schema compiled
 * into kubernetes-models, then the references between objects that a schema cannot see (selectors,
 * ports, RBAC subjects, Secrets) are checked against each other.
 */
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Namespace, PersistentVolumeClaim, Pod, Service, ServiceAccount } from 'kubernetes-models/v1';
import { identityFor } from '../../gateway/src/identity.ts';
import { LABELS } from '../../gateway/src/runtime/labels.ts';
import { REPO_ROOT } from '../lib/images.ts';

const DIR = join(REPO_ROOT, 'deploy', 'kubernetes');
const NAMESPACE = 'nanobot';

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
};
type Validatable = { validate(): void };

const MODELS: Record<string, new (data: never) => Validatable> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/Pod': Pod,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

/** Throws with the schema's complaint when `manifest` is not a valid object of its kind. */
function validate(manifest: Manifest): void {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!Model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
  new Model(manifest as never).validate();
}

function load(file: string): Manifest[] {
  const parsed = Bun.YAML.parse(readFileSync(join(DIR, file), 'utf8')) as Manifest | Manifest[];
  return (Array.isArray(parsed) ? parsed : [parsed]).filter(Boolean);
}

const files = readdirSync(DIR).filter((name) => name.endsWith('.yaml') && name !== 'kustomization.yaml').sort();
const all = files.flatMap((file) => load(file).map((manifest) => ({ file, manifest })));
const manifests = all.map(({ manifest }) => manifest);
const byKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const named = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);

type PodSpec = {
  serviceAccountName?: string;
  containers: Array<{ ports?: Array<{ name?: string; containerPort: number }>; env?: Array<{ valueFrom?: { secretKeyRef?: { name: string; key: string } } }> }>;
  volumes?: Array<{ secret?: { secretName: string } }>;
};
type DeploymentSpec = { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
type ServiceSpec = { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string | number }> };
type PolicySpec = {
  podSelector: { matchLabels: Record<string, string> };
  ingress: Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }>; ports: Array<{ port: number }> }>;
};

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** Pods the manifests run or the gateway would create, with their labels and spec. */
const pods = [
  ...byKind('Deployment').map((d) => ({ name: d.metadata.name, ...(d.spec as DeploymentSpec).template.metadata, spec: (d.spec as DeploymentSpec).template.spec })),
  ...byKind('Pod').map((p) => ({ name: p.metadata.name, labels: p.metadata.labels ?? {}, spec: p.spec as PodSpec })),
];

describe('deploy/kubernetes', () => {
  test('holds the namespace, the gateway, the web app, the network policies and the agent template', () => {
    expect(files).toEqual(['agent-template.yaml', 'gateway.yaml', 'namespace.yaml', 'network-policy.yaml', 'web.yaml']);
    expect(all.map(({ manifest: m }) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'Deployment/nanobot-gateway',
      'Deployment/nanobot-web',
      'Namespace/nanobot',
      'NetworkPolicy/agents-from-gateway-only',
      'NetworkPolicy/gateway-from-web-only',
      'PersistentVolumeClaim/data-alice-example-com-ff8d9819fc',
      'Pod/agent-alice-example-com-ff8d9819fc',
      'Role/nanobot-gateway',
      'RoleBinding/nanobot-gateway',
      'Service/nanobot-gateway',
      'Service/nanobot-web',
      'ServiceAccount/nanobot-gateway',
    ]);
  });

  test('every object is valid against the Kubernetes schema of its kind', () => {
    for (const { file, manifest } of all) {
      expect(() => validate(manifest), `${file}: ${manifest.kind} ${manifest.metadata.name}`).not.toThrow();
    }
  });

  test('the schema check does refuse a broken object', () => {
    const broken = structuredClone(named('Deployment', 'nanobot-gateway')) as Manifest;
    (broken.spec as DeploymentSpec).template.spec.containers[0]!.ports = [{ containerPort: 'eighty' as unknown as number }];
    expect(() => validate(broken)).toThrow(/containerPort must be integer/);
  });

  test('everything but the namespace lives in it; nothing is cluster-wide', () => {
    for (const manifest of manifests.filter((m) => m.kind !== 'Namespace')) {
      expect(manifest.metadata.namespace, `${manifest.kind} ${manifest.metadata.name}`).toBe(NAMESPACE);
    }
    expect(byKind('ClusterRole')).toEqual([]);
    expect(byKind('ClusterRoleBinding')).toEqual([]);
  });

  test('each Deployment selects its own pods and each Service reaches a named port of them', () => {
    for (const deployment of byKind('Deployment')) {
      const spec = deployment.spec as DeploymentSpec;
      expect(matches(spec.selector.matchLabels, spec.template.metadata.labels)).toBe(true);
    }
    for (const service of byKind('Service')) {
      const spec = service.spec as ServiceSpec;
      const targets = pods.filter((pod) => matches(spec.selector, pod.labels));
      expect(targets.map((pod) => pod.name), service.metadata.name).toEqual([service.metadata.name]);
      const portNames = targets[0]!.spec.containers.flatMap((c) => c.ports ?? []).map((p) => p.name);
      for (const port of spec.ports) expect(portNames).toContain(String(port.targetPort));
    }
  });

  test('the gateway runs under its own ServiceAccount, bound to a Role that cannot delete data or read Secrets', () => {
    const gateway = named('Deployment', 'nanobot-gateway')!.spec as DeploymentSpec;
    const binding = named('RoleBinding', 'nanobot-gateway') as Manifest & { subjects: Array<{ kind: string; name: string; namespace: string }>; roleRef: { kind: string; name: string } };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: gateway.template.spec.serviceAccountName!, namespace: NAMESPACE }]);
    expect(named('ServiceAccount', gateway.template.spec.serviceAccountName!)).toBeDefined();
    expect(binding.roleRef.kind).toBe('Role');
    const role = named('Role', binding.roleRef.name) as Manifest & { rules: Array<{ resources: string[]; verbs: string[] }> };
    const verbsOn = (resource: string) => role.rules.filter((rule) => rule.resources.includes(resource)).flatMap((rule) => rule.verbs);
    expect(verbsOn('pods').sort()).toEqual(['create', 'delete', 'get', 'list', 'watch']);
    expect(verbsOn('persistentvolumeclaims')).not.toContain('delete');
    expect(verbsOn('secrets')).toEqual([]);
    expect(role.rules.flatMap((rule) => rule.resources)).not.toContain('*');
    // The web app and the agents never talk to the Kubernetes API.
    const web = named('Deployment', 'nanobot-web')!.spec as DeploymentSpec;
    expect((web.template.spec as { automountServiceAccountToken?: boolean }).automountServiceAccountToken).toBe(false);
    expect((named('Pod', 'agent-alice-example-com-ff8d9819fc')!.spec as { automountServiceAccountToken?: boolean }).automountServiceAccountToken).toBe(false);
  });

  test('only the gateway may reach the agents, on their port, and only the web app may reach the gateway', () => {
    const agentPolicy = named('NetworkPolicy', 'agents-from-gateway-only')!.spec as PolicySpec;
    const agentPods = pods.filter((pod) => matches(agentPolicy.podSelector.matchLabels, pod.labels));
    expect(agentPods.map((pod) => pod.name)).toEqual(['agent-alice-example-com-ff8d9819fc']);
    const allowed = agentPolicy.ingress.flatMap((rule) => rule.from).flatMap((from) => pods.filter((pod) => matches(from.podSelector.matchLabels, pod.labels)));
    expect(allowed.map((pod) => pod.name)).toEqual(['nanobot-gateway']);
    expect(agentPolicy.ingress.flatMap((rule) => rule.ports).map((p) => p.port)).toEqual(agentPods[0]!.spec.containers[0]!.ports!.map((p) => p.containerPort));

    const gatewayPolicy = named('NetworkPolicy', 'gateway-from-web-only')!.spec as PolicySpec;
    expect(pods.filter((pod) => matches(gatewayPolicy.podSelector.matchLabels, pod.labels)).map((pod) => pod.name)).toEqual(['nanobot-gateway']);
    const callers = gatewayPolicy.ingress.flatMap((rule) => rule.from).flatMap((from) => pods.filter((pod) => matches(from.podSelector.matchLabels, pod.labels)));
    expect(callers.map((pod) => pod.name)).toEqual(['nanobot-web']);
  });

  test("the agent template names follow the gateway's identity rule", () => {
    const { id, containerName, email } = identityFor('alice@example.com');
    const pod = named('Pod', containerName.replaceAll('_', '-'))!;
    expect(pod.metadata.labels?.[LABELS.userId]).toBe(id);
    expect(pod.metadata.annotations?.['nanobot.email']).toBe(email);
    const claim = (pod.spec as { volumes: Array<{ persistentVolumeClaim?: { claimName: string } }> }).volumes.find((v) => v.persistentVolumeClaim)!;
    expect(named('PersistentVolumeClaim', claim.persistentVolumeClaim!.claimName)?.metadata.labels?.[LABELS.userId]).toBe(id);
  });

  test('Secrets are only referenced, and each one referenced is one docs/scaling.md tells how to create', () => {
    expect(byKind('Secret')).toEqual([]);
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'scaling.md'), 'utf8');
    const references = pods.flatMap((pod) => [
      ...pod.spec.containers.flatMap((c) => c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [`${e.valueFrom.secretKeyRef.name} ${e.valueFrom.secretKeyRef.key}`] : [])),
      ...(pod.spec.volumes ?? []).flatMap((v) => (v.secret ? [`${v.secret.secretName} config.json`] : [])),
    ]);
    expect(references.length).toBeGreaterThan(0);
    for (const reference of new Set(references)) {
      const [secret, key] = reference.split(' ');
      const command = new RegExp(`kubectl -n nanobot create secret generic ${secret}[^\\n]*(\\\\\\n[^\\n]*)*--from-(literal|file)=${key!.replace('.', '\\.')}=`);
      expect(command.test(doc), `no kubectl create secret line for ${reference}`).toBe(true);
    }
  });

  test('kustomization.yaml applies every manifest but the per-student template', () => {
    const kustomization = Bun.YAML.parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(kustomization.resources.sort()).toEqual(files.filter((file) => file !== 'agent-template.yaml'));
  });
});
