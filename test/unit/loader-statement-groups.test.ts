import { describe, expect, it } from 'vitest';
import { runStatementGroups } from '../../loader/statement-groups.js';

/** A connection that records what it ran and fails on statements containing "boom". */
function connection(name: string, log: string[]) {
  return {
    async query(sql: string) {
      log.push(`${name}:${sql}:start`);
      await new Promise((resolve) => setTimeout(resolve, sql.includes('slow') ? 20 : 1));
      if (sql.includes('boom')) throw new Error(`failed: ${sql}`);
      log.push(`${name}:${sql}:end`);
      return { rowCount: sql.length } as never;
    },
  };
}

describe('runStatementGroups', () => {
  it('runs each group in order on one connection, groups in parallel, and sums the row counts', async () => {
    const log: string[] = [];
    const rows = await runStatementGroups([connection('A', log), connection('B', log)], [['slow1', 'a2'], ['b1', 'b2'], ['c1']]);
    expect(rows).toBe('slow1a2b1b2c1'.length);
    // A takes the first group and B the second at once; the third goes to whoever is free first (B).
    expect(log.slice(0, 2)).toEqual(['A:slow1:start', 'B:b1:start']);
    expect(log.filter((l) => l.startsWith('A:'))).toEqual(['A:slow1:start', 'A:slow1:end', 'A:a2:start', 'A:a2:end']);
    expect(log).toContain('B:c1:end');
    expect(log.indexOf('A:a2:start')).toBeGreaterThan(log.indexOf('A:slow1:end'));
  });

  it('runs a step of several statements on the connection it is handed, counting what the step returns', async () => {
    const log: string[] = [];
    const step = async (client: { query(sql: string): Promise<unknown> }) => {
      await client.query('step-x');
      await client.query('step-y');
      return 100;
    };
    const rows = await runStatementGroups([connection('A', log), connection('B', log)], [['slow1'], [step, 'b2']]);
    expect(rows).toBe('slow1'.length + 100 + 'b2'.length);
    expect(log.filter((l) => l.startsWith('B:'))).toEqual(['B:step-x:start', 'B:step-x:end', 'B:step-y:start', 'B:step-y:end', 'B:b2:start', 'B:b2:end']);
  });

  it('stops handing out work after the first failure and rethrows it', async () => {
    const log: string[] = [];
    await expect(runStatementGroups([connection('A', log), connection('B', log)], [['slow1', 'never1'], ['boom'], ['never2']])).rejects.toThrow('failed: boom');
    expect(log.join(' ')).not.toMatch(/never/);
  });
});
