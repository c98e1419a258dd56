// A progress bar with ETA on stderr, drawn only on a TTY; elsewhere it is silent.

export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly total: number,
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
    const columns = this.stream.columns ?? 100;
    this.stream.write(`\r${text.slice(0, columns - 1).padEnd(columns - 1)}`);
  }

  clear(): void {
    if (!this.enabled) return;
    const columns = this.stream.columns ?? 100;
    this.stream.write(`\r${' '.repeat(columns - 1)}\r`);
  }
}
