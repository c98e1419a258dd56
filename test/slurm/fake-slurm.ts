// Stand-ins for sbatch, sinfo, squeue and sacct for tests on machines without Slurm: shell scripts that record
// their arguments and print what Slurm prints, from files the test writes (squeue.txt, sacct.txt).
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/run-etok.js';

export interface FakeSlurm {
  /** Put this first on PATH. */
  bin: string;
  /** Where the fakes keep their logs and read their answers. */
  state: string;
  env: NodeJS.ProcessEnv;
  /** Each sbatch call's arguments, one array per call. */
  sbatchCalls(): string[][];
  setSqueue(lines: string[]): void;
  setSacct(lines: string[] | null): void;
}

const SCRIPTS: Record<string, string> = {
  // Prints the next job id (from 100), like `sbatch --parsable`; FAKE_SBATCH_FAIL makes it refuse.
  sbatch: `#!/bin/bash
printf '%s\\0' "$@" >> "$FAKE_SLURM/sbatch.log"; printf '\\n' >> "$FAKE_SLURM/sbatch.log"
if [[ -n "\${FAKE_SBATCH_FAIL:-}" ]]; then echo "sbatch: error: $FAKE_SBATCH_FAIL" >&2; exit 1; fi
n=$(cat "$FAKE_SLURM/next-job" 2>/dev/null || echo 100); echo $((n + 1)) > "$FAKE_SLURM/next-job"
echo "$n;fakecluster"
`,
  sinfo: `#!/bin/bash
echo "$*" >> "$FAKE_SLURM/sinfo.log"
if [[ "$*" == *"-N"* ]]; then printf 'node-a\\nnode-b\\nnode-a\\n'; else printf 'gpu\\ndebug\\n'; fi
`,
  squeue: `#!/bin/bash
echo "$*" >> "$FAKE_SLURM/squeue.log"
cat "$FAKE_SLURM/squeue.txt" 2>/dev/null
exit 0
`,
  sacct: `#!/bin/bash
echo "$*" >> "$FAKE_SLURM/sacct.log"
if [[ ! -f "$FAKE_SLURM/sacct.txt" ]]; then echo "Slurm accounting storage is disabled" >&2; exit 1; fi
cat "$FAKE_SLURM/sacct.txt"
`,
};

export function fakeSlurm(): FakeSlurm {
  const root = tempDir('etok-fake-slurm-');
  const bin = join(root, 'bin');
  const state = join(root, 'state');
  mkdirSync(bin);
  mkdirSync(state);
  for (const [name, text] of Object.entries(SCRIPTS)) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  return {
    bin,
    state,
    env: { PATH: `${bin}:${process.env.PATH}`, FAKE_SLURM: state },
    sbatchCalls() {
      const log = join(state, 'sbatch.log');
      if (!existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('\0').filter(Boolean));
    },
    setSqueue(lines) {
      writeFileSync(join(state, 'squeue.txt'), lines.map((l) => `${l}\n`).join(''));
    },
    setSacct(lines) {
      const path = join(state, 'sacct.txt');
      if (lines === null) {
        rmSync(path, { force: true });
        return;
      }
      writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
    },
  };
}
