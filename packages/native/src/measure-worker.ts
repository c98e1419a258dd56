// The child side of isolated measurement (isolated.ts): loads the addon, measures one group, reports progress and
// the result over IPC, then exits. A crash here (a kernel's segfault, an abort, an OOM kill) ends this process
// only; the parent records it and goes on.
import type { NativeMeasurePlan } from './binding.js';
import { measureGroup } from './measure.js';

type Request = { type: 'measure'; plans: NativeMeasurePlan[] } | { type: 'cancel' };

// Ctrl-C in a terminal signals the whole process group: the parent decides, and tells us over IPC.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
// A parent that is gone (killed, crashed, exited at a second Ctrl-C) takes us with it: the measurement runs on a
// worker thread, so this thread still sees the IPC channel close even in the middle of a long kernel call.
process.on('disconnect', () => process.exit(1));

let handle: ReturnType<typeof measureGroup> | undefined;
let cancelled = false;

process.on('message', (message: Request) => {
  if (message.type === 'cancel') {
    cancelled = true;
    handle?.cancel();
    return;
  }
  handle = measureGroup(message.plans, (stage, fraction, callS) =>
    process.send?.({ type: 'progress', stage, fraction, ...(callS !== undefined ? { callS } : {}) }),
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
