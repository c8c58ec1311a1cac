import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { eventLsnOf, eventSeqOf, eventVersion, type ChangeEvent, type Row } from '../../contracts/change-event.js';
import { silentLogger } from '../../platform/logger.js';
import { BatchRows } from '../../stream-processors/batch-rows.js';
import { dateColumnsOf, dimDateRow } from '../../stream-processors/transform/dim-date.js';
import { batchIdOfDistinct } from '../../contracts/manifest-layout.js';
import { addRowsForEvent } from '../../stream-processors/event-rows.js';
import { rowsForEvent } from '../support/event-rows-list.js';
import type { JoinStateStore } from '../../stream-processors/state/join-state-store.js';
import { commitMsOf, commitTsOf, isCanonicalUtcInstant } from '../../stream-processors/transform/row-metadata.js';
import { isCalendarDate, requiredMoney, requiredTimestamp, timestampDate, timestampTime, type SourceRow } from '../../stream-processors/transform/source-values.js';
import { generateWorkload } from '../support/archive-workload.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';
import { mulberry32 as prng } from '../support/seeded-random.js';

/*
 * The stream processor reads the common forms of values (canonical timestamps, money, dates, commit
 * times, plain positions) with character-code checks and one-entry memos instead of regexes and
 * Date round trips. These tests pin the fast paths to straightforward reference implementations
 * (the code they replaced) over generated inputs that sit on and around every boundary: results
 * and errors must be identical.
 */

const random = prng(20261122);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Mostly well-formed, sometimes a character off: where a fast path could wrongly accept. */
function noisy(text: string): string {
  if (random() > 0.15) return text;
  const at = Math.floor(random() * (text.length + 1));
  const noise = pick(['', 'x', ' ', '-', ':', '.', 'T', 'Z', '0', '9', '/', '٣', '０', '\n']);
  return random() < 0.5 ? text.slice(0, at) + noise + text.slice(at + 1) : text.slice(0, at) + noise + text.slice(at);
}

const YEARS = [0, 1, 2, 3, 4, 99, 100, 400, 1582, 1900, 1969, 1970, 2000, 2022, 2024, 2100, 9999];
function dateText(): string {
  return `${pad(pick(YEARS), 4)}-${pad(Math.floor(random() * 14), 2)}-${pad(pick([0, 1, 9, 28, 29, 30, 31, 32]), 2)}`;
}
function timeText(fractionDigits: number): string {
  const fraction = fractionDigits === 0 ? '' : '.' + String(Math.floor(random() * 10 ** fractionDigits)).padStart(fractionDigits, '0');
  return `${pad(pick([0, 9, 12, 23, 24, 25]), 2)}:${pad(pick([0, 30, 59, 60]), 2)}:${pad(pick([0, 30, 59, 60, 61]), 2)}${fraction}`;
}

// ---- reference implementations: the code the fast paths replaced ----

function referenceIsCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]! + (leap ? 1 : 0);
}

function referenceTimestampParts(value: unknown): { date: string; time: string } | 'invalid' {
  const m = typeof value === 'string' ? /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(value) : null;
  if (!m || !referenceIsCalendarDate(m[1]!) || Number(m[2]) > 23 || Number(m[3]) > 59 || Number(m[4]) > 59) return 'invalid';
  return { date: m[1]!, time: `${m[2]}:${m[3]}:${m[4]}.${(m[5] ?? '').slice(0, 3).padEnd(3, '0')}` };
}

function referenceMoney(value: unknown): string | 'invalid' {
  const m = typeof value === 'string' ? /^(-?)(\d{1,8})(?:\.(\d{1,2}))?$/.exec(value) : null;
  if (!m) return 'invalid';
  const integer = m[2]!.replace(/^0+(?=\d)/, '');
  const fraction = (m[3] ?? '').padEnd(2, '0');
  const negative = m[1] === '-' && /[1-9]/.test(integer + fraction);
  return `${negative ? '-' : ''}${integer}.${fraction}`;
}

/** The old fact commit_ts: Date.parse then toISOString, or a SourceValueError. */
function referenceCommitTs(value: unknown): string | 'invalid' {
  const ms = Date.parse(value as string);
  return Number.isNaN(ms) ? 'invalid' : new Date(ms).toISOString();
}

function outcome<T>(fn: () => T): { value: T } | { error: string } {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

const src = (value: unknown): SourceRow => ({ table: 'payment', eventId: 'e', row: { v: value as Row[string] } });

describe('fast value readers agree with the reference implementations', () => {
  it('isCalendarDate, on every year/month/day boundary and on near-misses', () => {
    const cases = new Set<string>(['', '2022-1-01', '20220101', '2022-01-01 ', '２０２２-01-01', '2022/01/01']);
    for (const year of YEARS) for (let month = 0; month <= 13; month++) for (let day = 0; day <= 32; day++) cases.add(`${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`);
    for (let i = 0; i < 3000; i++) cases.add(noisy(dateText()));
    let accepted = 0;
    for (const text of cases) {
      expect(isCalendarDate(text), text).toBe(referenceIsCalendarDate(text));
      if (referenceIsCalendarDate(text)) accepted++;
    }
    expect(accepted).toBeGreaterThan(1000); // the sample covers both outcomes
  });

  it('requiredTimestamp split by timestampDate / timestampTime, as the fact transforms do (canonical fast path, memo, and the other accepted forms)', () => {
    const requiredTimestampParts = (row: SourceRow, column: string) => {
      const timestamp = requiredTimestamp(row, column);
      return { date: timestampDate(timestamp), time: timestampTime(timestamp) };
    };
    const cases: unknown[] = ['2022-11-03T14:20:49.962', '2022-11-03 14:20:49.962', '2022-11-03T14:20:49', '2022-11-03T14:20:49.9', '2022-11-03T14:20:49.962123', '2022-11-03T14:20:49.9621234', null, 1667485249962, ''];
    for (let i = 0; i < 6000; i++) cases.push(noisy(`${dateText()}${pick(['T', 'T', 'T', ' ', 't'])}${timeText(pick([3, 3, 3, 0, 1, 2, 4, 6, 7]))}`));
    let valid = 0;
    for (const value of cases) {
      const expected = referenceTimestampParts(value);
      const actual = outcome(() => requiredTimestampParts(src(value), 'v'));
      if (expected === 'invalid') expect(actual, String(value)).toMatchObject({ error: expect.stringMatching(/^SourceValueError: payment\.v: expected a timestamp/) });
      else {
        expect(actual, String(value)).toEqual({ value: expected });
        valid++;
      }
    }
    expect(valid).toBeGreaterThan(500);
  });

  it('requiredMoney (canonical values come back as they are, every other form is rebuilt or refused)', () => {
    const cases: unknown[] = ['0.00', '-0.00', '-0.01', '007.50', '3', '3.9', '3.94', '-12.30', '12345678.99', '123456789.00', '00000001.00', '1.', '.50', '-', '', '1e3', '+1.00', ' 1.00', 3.94, null];
    for (let i = 0; i < 6000; i++) {
      const integer = pick(['0', '00', '1', '10', '07', '99999999', '100000000', String(Math.floor(random() * 1e6))]);
      const fraction = pick(['', '.', '.0', '.00', '.05', '.5', '.99', '.123']);
      cases.push(noisy(`${pick(['', '', '-'])}${integer}${fraction}`));
    }
    for (const value of cases) {
      const expected = referenceMoney(value);
      const actual = outcome(() => requiredMoney(src(value), 'v'));
      if (expected === 'invalid') expect(actual, String(value)).toMatchObject({ error: expect.stringMatching(/^SourceValueError: payment\.v: expected a numeric\(10,2\)/) });
      else expect(actual, String(value)).toEqual({ value: expected });
    }
  });

  it('commit_ts: a canonical instant is its own normalized form; everything else goes through Date', () => {
    const cases: unknown[] = ['2026-11-22T12:00:00.123Z', '2026-11-22T12:00:00Z', '2026-11-22T12:00:00.123+01:00', '2026-11-22 12:00:00.123Z', '+002026-11-22T12:00:00.123Z', '0000-01-01T00:00:00.000Z', 'garbage', '', 12345, null, undefined];
    for (let i = 0; i < 6000; i++) cases.push(noisy(`${dateText()}T${timeText(pick([3, 3, 3, 0, 2, 4]))}${pick(['Z', 'Z', 'Z', 'z', '+00:00', ''])}`));
    let canonical = 0;
    for (const value of cases) {
      if (typeof value === 'string' && isCanonicalUtcInstant(value)) {
        canonical++;
        expect(new Date(Date.parse(value)).toISOString(), value).toBe(value);
      }
      const event = changeEvent('payment', 'c', sourceRow.payment());
      (event.source as { commitTs: unknown }).commitTs = value;
      const expected = referenceCommitTs(value);
      // Twice: the second read is served by the memo.
      for (let read = 0; read < 2; read++) {
        expect(commitMsOf(value), String(value)).toEqual(Date.parse(value as string));
        const actual = outcome(() => commitTsOf(event));
        if (expected === 'invalid') expect(actual, String(value)).toMatchObject({ error: expect.stringMatching(/^SourceValueError: payment: commitTs is not an instant/) });
        else expect(actual, String(value)).toEqual({ value: expected });
      }
    }
    expect(canonical).toBeGreaterThan(150);
  });

  it('eventLsnOf and eventSeqOf give eventVersion\'s values and errors, also when the memo alternates', () => {
    const lsns: unknown[] = ['0/16B3748', '0/16b3748', ' 0/16B3748', 'FFFFFFFF/FFFFFFFF', '0/0', '1/', 'garbage', '', 123, null, '100000000/0'];
    const ids = ['0/1/0', '0/1/7', '0/1/007', 'x/', 'noslash', 'x/1e3', 'x/ 5', 'x/0x10', 'x/-1', 'x/-0', 'x/1.5', 'x/999999999999999', 'x/9999999999999999', 'x/99999999999999999', 'a/b/3', '/4', 'x/٣'];
    for (let i = 0; i < 2000; i++) {
      const event = { id: pick(ids), source: { commitLsn: pick(lsns), snapshot: random() < 0.2 } } as unknown as ChangeEvent;
      const expected = outcome(() => eventVersion(event));
      const actual = outcome(() => ({ lsn: eventLsnOf(event), seq: eventSeqOf(event) }));
      expect(actual, JSON.stringify(event)).toEqual(expected);
    }
  });

  it('batchIdOfDistinct does not depend on input order and leaves its input in order', () => {
    const ids = ['0/20/1', '0/3/0', 'snapshot/staff/1@0/1', '0/20/0'];
    const copy = [...ids];
    expect(batchIdOfDistinct(ids)).toBe(batchIdOfDistinct([...ids].reverse()));
    expect(batchIdOfDistinct(ids)).toMatch(/^[0-9a-f]{32}$/);
    expect(ids).toEqual(copy);
  });
});

describe('rows straight into BatchRows', () => {
  const noState = {} as JoinStateStore; // facts and single-source dimensions never touch it

  it('give the same tables as the rowsForEvent lists did, for a realistic workload with faulty events mixed in', async () => {
    const events = generateWorkload(3000, { seed: 11 })
      .map(({ event }) => event)
      .filter((event) => !['staff', 'department', 'counterparty', 'address'].includes(event.table));
    const faulty = events.slice(0, 400).map((event, i): ChangeEvent => {
      const copy = structuredClone(event);
      const image = (copy.op === 'd' ? copy.before : copy.after)!;
      if (i % 4 === 0) image.created_at = '2022-02-30T00:00:00.000';
      if (i % 4 === 1) copy.source.commitLsn = 'not an lsn';
      if (i % 4 === 2 && 'payment_date' in image) image.payment_date = '2022-13-01';
      if (i % 4 === 3) copy.id = 'no-position/x';
      return copy;
    });
    const direct = new BatchRows();
    const listed = new BatchRows();
    let failures = 0;
    for (const event of [...events.slice(0, 1500), ...faulty, ...events.slice(1500)]) {
      const viaList = await rowsForEvent(event, { state: noState, logger: silentLogger }).then(
        (rows) => rows,
        (error: Error) => error,
      );
      const viaSink = outcome(() => addRowsForEvent(event, { state: noState, logger: silentLogger }, direct));
      if (viaList instanceof Error) {
        failures++;
        expect(viaSink).toEqual({ error: `${viaList.name}: ${viaList.message}` });
      } else {
        expect(viaSink).toEqual({ value: undefined });
        for (const emitted of viaList) listed.add(emitted);
      }
    }
    expect(failures).toBeGreaterThan(150);
    expect(isDeepStrictEqual(direct.tables(), listed.tables())).toBe(true);
    expect(direct.tables().map(({ table }) => table)).toEqual(expect.arrayContaining(['dim_date', 'fact_sales_order', 'fact_payment', 'dim_transaction']));
  });

  it('addFact (its memo of dates already held) gives what `add` gives for the fact and its dates, over rows mixing known, new, repeated and bad dates', () => {
    const facts = ['fact_sales_order', 'fact_purchase_order', 'fact_payment'] as const;
    const pool = ['2022-11-03', '2022-11-04', '2022-11-05', '2023-01-31', '2024-02-29', '2022-02-30', '2022-13-01', null];
    for (let round = 0; round < 20; round++) {
      const direct = new BatchRows();
      const listed = new BatchRows();
      for (let i = 0; i < 300; i++) {
        const table = pick(facts);
        const row: Record<string, unknown> = { event_id: `e${i}`, version_lsn: BigInt(i) };
        // Runs of the same date (as consecutive facts have them) and changes within a row.
        for (const column of dateColumnsOf(table)) row[column] = random() < 0.6 ? pool[round % 3] : pick(pool.slice(0, 3 + (round % 6)));
        const viaAdd = outcome(() => {
          const dates = dateColumnsOf(table).map((column) => row[column]).filter((date): date is string => typeof date === 'string');
          const dateRows = dates.map((date) => dimDateRow(date)); // the definition: every date checked first
          listed.add({ table, row: row as never });
          for (const dateRow of dateRows) listed.add({ table: 'dim_date', row: dateRow });
        });
        const viaFact = outcome(() => direct.addFact(table, row as never));
        expect(viaFact, JSON.stringify(row, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).toEqual(viaAdd);
      }
      expect(isDeepStrictEqual(direct.tables(), listed.tables())).toBe(true);
    }
  });

  it('a fact row whose date is not a calendar date adds nothing, not even its other dates', () => {
    const rows = new BatchRows();
    const row = { payment_id: 1, created_date: '2022-11-03', last_updated_date: '2022-11-04', payment_date: '2022-02-30', version_lsn: 1n };
    expect(() => rows.addFact('fact_payment', row)).toThrow(RangeError);
    expect(rows.tables()).toEqual([]);
  });
});
