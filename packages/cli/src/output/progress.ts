// A progress bar with ETA on stderr, drawn only on a TTY; elsewhere a line per finished step (`done`), so a log
// still shows progress. A terminal that reports no width gets a bar of 100 columns.

export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly total: number,
    /** Lines for finished steps when the stream is not a terminal (off when stderr must stay quiet). */
    private readonly lines = true,
  ) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  /** `done` whole items plus `fraction` of the current one. */
  update(done: number, fraction: number, label: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 80) return;
    this.lastDraw = now;
    const progress = Math.min(1, (done + Math.min(1, Math.max(0, fraction))) / this.total);
    const elapsed = (now - this.started) / 1000;
    const eta = progress > 0.02 ? Math.max(0, elapsed / progress - elapsed) : Number.NaN;
    const width = 24;
    const filled = Math.round(progress * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const etaText = Number.isFinite(eta) ? `ETA ${Math.ceil(eta)}s` : 'ETA …';
    const text = ` ${bar} ${done}/${this.total} ${etaText}  ${label}`;
    const columns = this.columns();
    this.stream.write(`\r${text.slice(0, columns - 1).padEnd(columns - 1)}`);
  }

  /** A step finished: on a terminal the bar moves on; elsewhere one line says so. */
  done(doneCount: number, line: string): void {
    if (this.enabled) this.update(doneCount, 0, line);
    else if (this.lines) {
      const elapsed = Math.round((Date.now() - this.started) / 1000);
      this.stream.write(`[${doneCount}/${this.total}, ${elapsed} s] ${line}\n`);
    }
  }

  clear(): void {
    if (!this.enabled) return;
    const columns = this.columns();
    this.stream.write(`\r${' '.repeat(columns - 1)}\r`);
  }

  /** The terminal's width; one that says 0 (or nothing) gets 100, and never fewer than 20. */
  private columns(): number {
    const c = this.stream.columns;
    return typeof c === 'number' && c > 0 ? Math.max(20, c) : 100;
  }
}
