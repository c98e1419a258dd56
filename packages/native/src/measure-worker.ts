// The child side of isolated measurement (isolated.ts): loads the addon, measures one group, reports progress and
// the result over IPC, then exits. A crash here (a kernel's segfault, an abort, an OOM kill) ends this process
// only; the parent records it and goes on.
import type { NativeMeasurePlan } from './binding.js';
import { measureGroup } from './measure.js';

type Request = { type: 'measure'; plans: NativeMeasurePlan[] } | { type: 'cancel' };

// Ctrl-C in a terminal signals the whole process group: the parent decides, and tells us over IPC.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

let handle: ReturnType<typeof measureGroup> | undefined;
let cancelled = false;

process.on('message', (message: Request) => {
  if (message.type === 'cancel') {
    cancelled = true;
    handle?.cancel();
    return;
  }
  handle = measureGroup(message.plans, (stage, fraction) =>
    process.send?.({ type: 'progress', stage, fraction }),
  );
  if (cancelled) handle.cancel();
  handle.result.then(
    (results) => process.send?.({ type: 'result', results }, () => process.exit(0)),
    (error: Error & { code?: string; field?: string }) =>
      process.send?.(
        {
          type: 'error',
          error: { message: error.message, code: error.code ?? 'INTERNAL', field: error.field },
        },
        () => process.exit(0),
      ),
  );
});
