import cliProgress from 'cli-progress';

export interface ProgressBar {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

/**
 * A progress bar with rate and ETA on a terminal; on a pipe or in CI it logs a line every few
 * seconds instead, so logs stay readable.
 */
export function progressBar(title: string, unit: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const startedAt = Date.now();
  if (!stream.isTTY) {
    let lastLine = 0;
    return {
      update(done, total, label) {
        const now = Date.now();
        if (now - lastLine < 5_000 && done < total) return;
        lastLine = now;
        const rate = done / Math.max((now - startedAt) / 1000, 0.001);
        stream.write(`${title}: ${done}/${total} ${unit}${label ? ` (${label})` : ''}, ${Math.round(rate)} ${unit}/s\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${title} [{bar}] {percentage}% | {value}/{total} ${unit} | {speed} ${unit}/s | ETA {eta_formatted} | {label}`,
      hideCursor: true,
      stream,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, label = '') {
      const speed = Math.round(done / Math.max((Date.now() - startedAt) / 1000, 0.001));
      if (!started) {
        bar.start(Math.max(total, 1), done, { speed, label });
        started = true;
      }
      bar.setTotal(Math.max(total, done, 1));
      bar.update(done, { speed, label });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
