import { WAREHOUSE_MODEL, type ColumnSpec, type WarehouseTable } from '../../contracts/warehouse-model.js';
import type { WarehouseRow, WarehouseValue } from '../../contracts/warehouse-row.js';
import { mulberry32 } from './seeded-random.js';


const EDGE_DATES = ['0100-01-01', '0400-02-29', '1600-02-29', '1900-02-28', '1969-12-31', '1970-01-01', '2000-02-29', '2024-02-29', '2026-11-22', '9999-12-31'];
const EDGE_TIMES = ['00:00:00.000', '23:59:59.999', '12:00:00', '12:00:00.5', '12:00:00.05', '99:99:99.999', '07:08:09.010'];
const EDGE_MONEY = ['0', '0.00', '-0.00', '-0.01', '0.5', '-0.5', '99999999.99', '-99999999.99', '12', '3.94', '552548.62', '00000001.10'];
const EDGE_INSTANTS = [
  '2026-11-22T12:00:00.123Z',
  '1970-01-01T00:00:00.000Z',
  '1969-12-31T23:59:59.999Z',
  '0000-01-01T00:00:00.000Z',
  '9999-12-31T23:59:59.999Z',
  '2024-02-29T23:59:59.999Z',
  '2026-11-22T12:00:00Z',
  '2026-11-22T14:00:00.000+02:00',
  '2026-11-22',
  '+010000-01-01T00:00:00.000Z',
  '-000001-06-15T00:00:00.000Z',
];
const EDGE_TEXT = ['', 'a', 'Ünïcödé straße', '東京都千代田区', '😀 emoji 🚀', 'tab\there\nnewline\\backslash', 'lone \ud800 surrogate', 'lone \udc00 low', '\u{10ffff}', 'x'.repeat(40), 'é'.repeat(20), '\uffff\ud83d\ude00'];
const EDGE_INTS = [0, -0, 1, -1, 2 ** 31 - 1, -(2 ** 31 - 1), 42];
const EDGE_BIGINTS = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 0x16b37a0n, 9007199254740993n];

const pad = (n: number, width: number) => String(n).padStart(width, '0');

function randomValue(column: ColumnSpec, random: () => number, pick: number, edges: boolean): WarehouseValue {
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const fromList = <T>(list: readonly T[]) => list[pick % list.length];
  if (column.nullable && random() < 0.15) return null;
  switch (column.type) {
    case 'int':
      return edges ? fromList(EDGE_INTS) : pick % 2 ? -pick * 7919 : pick;
    case 'bigint':
      return edges ? fromList(EDGE_BIGINTS) : pick % 3 === 0 ? pick * 1_000_003 : BigInt(pick) * 0x100000001n - 5n;
    case 'boolean':
      return random() < 0.5;
    case 'text':
      return edges ? fromList(EDGE_TEXT) : `${fromList(EDGE_TEXT).slice(0, 6)}#${pick}`;
    case 'date': {
      if (edges) return fromList(EDGE_DATES);
      const days = (pick * 7919) % 3_000_000 - 700_000;
      return new Date(days * 86_400_000).toISOString().slice(0, 10).replace(/^\+.*/, '2026-01-01').replace(/^00[0-9][0-9]-/, '2000-');
    }
    case 'time':
      return edges ? fromList(EDGE_TIMES) : `${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}:${pad(int(0, 59), 2)}.${pad(pick % 1000, 3)}`;
    case 'money':
      return edges ? fromList(EDGE_MONEY) : `${pick % 2 ? '-' : ''}${(pick * 7_919_993) % 100_000_000}.${pad(pick % 100, 2)}`;
    case 'timestamptz':
      return edges ? fromList(EDGE_INSTANTS) : new Date(Date.UTC(2020, 0, 1) + pick * 60_001 * (pick % 2 ? 1 : -1000)).toISOString();
  }
}

/** `count` rows of `table`; each column takes about `distinct` different values; `edgeShare` of rows use the edge lists. */
export function variedRows(table: WarehouseTable, count: number, options: { seed?: number; distinct?: number; edgeShare?: number } = {}): WarehouseRow[] {
  const random = mulberry32(options.seed ?? 1);
  const distinct = options.distinct ?? count;
  const edgeShare = options.edgeShare ?? 0.3;
  const columns = WAREHOUSE_MODEL[table].columns;
  const rows: WarehouseRow[] = [];
  for (let i = 0; i < count; i++) {
    const row: WarehouseRow = {};
    for (const column of columns) {
      const pick = Math.floor(random() * distinct);
      row[column.name] = randomValue(column, random, pick, random() < edgeShare);
    }
    rows.push(row);
  }
  return rows;
}
