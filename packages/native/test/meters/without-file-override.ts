import { existsSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';

/** True when this process would read a file whatever its mode (root, with CAP_DAC_OVERRIDE). */
export const bypassesFileModes = process.getuid?.() === 0;

/**
 * How to start `node` so that file modes bind it. A normal user needs nothing. Root keeps its uid but loses the
 * capabilities that bypass modes (setpriv), so the checkout stays reachable wherever it lives (a 0700 temp dir, /root);
 * without setpriv the child runs as `nobody`, which needs a world-readable checkout.
 */
export function nodeBoundByFileModes(): { command: string; prefix: string[]; uid?: number; gid?: number } {
  if (!bypassesFileModes) return { command: process.execPath, prefix: [] };
  if (existsSync(SETPRIV))
    return {
      command: SETPRIV,
      prefix: [
        '--bounding-set',
        '-dac_override,-dac_read_search',
        '--inh-caps',
        '-dac_override,-dac_read_search',
        process.execPath,
      ],
    };
  return { command: process.execPath, prefix: [], uid: 65534, gid: 65534 };
}
