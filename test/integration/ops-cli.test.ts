import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('operations commands: help and configuration errors', () => {
  it('doctor, redrive-dlq and status --aws explain themselves', async () => {
    const doctor = await runCli(['doctor', '--help']);
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toContain('--only <part>');
    expect(doctor.stdout).toContain('Exit code 0 when every check passes');
    const redrive = await runCli(['redrive-dlq', '--help']);
    expect(redrive.code).toBe(0);
    expect(redrive.stdout).toContain('--queue-url <url>');
    const status = await runCli(['status', '--help']);
    expect(status.stdout).toContain('--aws');
  }, 180_000); // CLI start-up (tsx) is slow on a busy machine

  it('redrive-dlq without a queue, or without the AWS settings, fails at once with what to set (exit 2)', async () => {
    const noQueue = await runCli(['redrive-dlq'], { env: { TOTESYS_PROCESSOR_DLQ_URL: '' } });
    expect(noQueue.code).toBe(2);
    expect(noQueue.stderr).toContain('pass --queue-url or set TOTESYS_PROCESSOR_DLQ_URL');
    const local = await runCli(['redrive-dlq', '--queue-url', 'https://sqs.eu-west-2.amazonaws.com/1/dlq']);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('set --stream kinesis');
  }, 180_000);
});
