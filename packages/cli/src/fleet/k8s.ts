// The Kubernetes equivalent of a fleet submission (pure text generation): a ConfigMap holding the same task script
// and one Indexed Job per target (one for the whole fleet with --partition, one per node with --nodes, pinned by
// the kubernetes.io/hostname label). Each pod runs task JOB_COMPLETION_INDEX + ETOK_FLEET_TASK_OFFSET and writes
// its file into a shared volume (a ReadWriteMany PersistentVolumeClaim) mounted at the fleet directory. The
// ConfigMap also carries the fleet manifest, which the first pod copies there, so `etok fleet collect` (and
// `status`, from the files alone) work on that directory as on a Slurm one.
import type { FleetTask } from './manifest.js';

export interface K8sOptions {
  name: string;
  dir: string;
  script: string;
  /** The fleet manifest (etok-fleet.json): the first pod copies it into the shared directory for `collect`. */
  manifest: string;
  image: string;
  pvc: string;
  gpusPerTask?: number;
  parallelism?: number;
  tasks: FleetTask[];
}

/** A YAML scalar written as a JSON string: always valid YAML, never misread as a number or a boolean. */
function q(value: string): string {
  return JSON.stringify(value);
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((l) => (l === '' ? '' : `${pad}${l}`))
    .join('\n');
}

function dns1123(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return (s || 'node').slice(0, 40).replace(/-+$/, '');
}

/** Groups tasks into Jobs: one per pinned node (contiguous ids), or one for the whole fleet. */
function jobsOf(tasks: FleetTask[]): { node: string | null; offset: number; count: number }[] {
  const jobs: { node: string | null; offset: number; count: number }[] = [];
  for (const t of tasks) {
    const last = jobs[jobs.length - 1];
    if (last && last.node === t.node && last.offset + last.count === t.id) last.count += 1;
    else jobs.push({ node: t.node, offset: t.id, count: 1 });
  }
  return jobs;
}

export function k8sManifest(o: K8sOptions): string {
  const docs: string[] = [];
  docs.push(
    [
      '# etok fleet: the task script, mounted into every pod.',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      `  name: ${q(`${o.name}-script`)}`,
      'data:',
      '  fleet-job.sh: |',
      indent(o.script.trimEnd(), 4),
      '  etok-fleet.json: |',
      indent(o.manifest.trimEnd(), 4),
    ].join('\n'),
  );
  for (const job of jobsOf(o.tasks)) {
    const jobName = job.node ? `${o.name}-${dns1123(job.node)}` : o.name;
    const gpu = o.gpusPerTask
      ? ['          resources:', '            limits:', `              nvidia.com/gpu: ${o.gpusPerTask}`]
      : [];
    const pin = job.node ? ['      nodeSelector:', `        kubernetes.io/hostname: ${q(job.node)}`] : [];
    docs.push(
      [
        `# tasks ${job.offset}-${job.offset + job.count - 1}${job.node ? ` on node ${job.node}` : ''}`,
        'apiVersion: batch/v1',
        'kind: Job',
        'metadata:',
        `  name: ${q(jobName)}`,
        '  labels:',
        `    app.kubernetes.io/name: "etok-fleet"`,
        'spec:',
        '  completionMode: Indexed',
        `  completions: ${job.count}`,
        `  parallelism: ${Math.min(job.count, o.parallelism ?? job.count)}`,
        '  backoffLimitPerIndex: 1',
        '  template:',
        '    spec:',
        '      restartPolicy: Never',
        ...pin,
        '      containers:',
        '        - name: etok',
        `          image: ${q(o.image)}`,
        '          command: ["/bin/bash", "/etc/etok-fleet/fleet-job.sh"]',
        '          env:',
        '            - name: ETOK_FLEET_TASK_OFFSET',
        `              value: ${q(String(job.offset))}`,
        '            - name: ETOK_FLEET_MANIFEST',
        '              value: "/etc/etok-fleet/etok-fleet.json"',
        '            - name: ETOK_FLEET_JOB_NAME',
        `              value: ${q(jobName)}`,
        '            - name: NODE_NAME',
        '              valueFrom: { fieldRef: { fieldPath: spec.nodeName } }',
        '            - name: POD_NAME',
        '              valueFrom: { fieldRef: { fieldPath: metadata.name } }',
        ...gpu,
        '          volumeMounts:',
        '            - name: results',
        `              mountPath: ${q(o.dir)}`,
        '            - name: script',
        '              mountPath: /etc/etok-fleet',
        '      volumes:',
        '        - name: results',
        `          persistentVolumeClaim: { claimName: ${q(o.pvc)} }`,
        '        - name: script',
        `          configMap: { name: ${q(`${o.name}-script`)} }`,
      ].join('\n'),
    );
  }
  return `${docs.join('\n---\n')}\n`;
}
