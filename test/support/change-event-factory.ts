import type { ChangeEvent, ChangeOp, Row } from '../../contracts/change-event.js';
import { formatLsn } from '../../contracts/lsn.js';
import { PRIMARY_KEYS, type SourceTable } from '../../contracts/source-tables.js';

/**
 * Fixture factories for change events (processor, replay and loader tests). Source rows look like
 * the real totesys rows (DESIGN.md §6); every default can be overridden.
 */
const AUDIT = { created_at: '2022-11-03T14:20:49.962', last_updated: '2022-11-03T14:20:49.962' };

export const sourceRow = {
  address: (o: Row = {}): Row => ({ address_id: 1, address_line_1: '6826 Herzog Via', address_line_2: null, district: 'Avon', city: 'New Patienceburgh', postal_code: '28441', country: 'Turkey', phone: '1803 637401', ...AUDIT, ...o }),
  counterparty: (o: Row = {}): Row => ({ counterparty_id: 1, counterparty_legal_name: 'Fahey and Sons', legal_address_id: 1, commercial_contact: 'Micheal Toy', delivery_contact: 'Mrs. Lucy Runolfsdottir', ...AUDIT, ...o }),
  currency: (o: Row = {}): Row => ({ currency_id: 1, currency_code: 'GBP', ...AUDIT, ...o }),
  department: (o: Row = {}): Row => ({ department_id: 1, department_name: 'Sales', location: 'Manchester', manager: 'Richard Roma', ...AUDIT, ...o }),
  design: (o: Row = {}): Row => ({ design_id: 8, ...AUDIT, design_name: 'Wooden', file_location: '/usr', file_name: 'wooden-20220717-npgz.json', ...o }),
  payment_type: (o: Row = {}): Row => ({ payment_type_id: 1, payment_type_name: 'SALES_RECEIPT', ...AUDIT, ...o }),
  staff: (o: Row = {}): Row => ({ staff_id: 1, first_name: 'Jeremie', last_name: 'Franey', department_id: 1, email_address: 'jeremie.franey@terrifictotes.com', ...AUDIT, ...o }),
  purchase_order: (o: Row = {}): Row => ({
    purchase_order_id: 1,
    ...AUDIT,
    staff_id: 12,
    counterparty_id: 11,
    item_code: 'ZDOI5EA',
    item_quantity: 371,
    item_unit_price: '361.39',
    currency_id: 2,
    agreed_delivery_date: '2022-11-09',
    agreed_payment_date: '2022-11-07',
    agreed_delivery_location_id: 6,
    ...o,
  }),
  sales_order: (o: Row = {}): Row => ({
    sales_order_id: 2,
    ...AUDIT,
    design_id: 3,
    staff_id: 19,
    counterparty_id: 8,
    units_sold: 42972,
    unit_price: '3.94',
    currency_id: 2,
    agreed_delivery_date: '2022-11-07',
    agreed_payment_date: '2022-11-08',
    agreed_delivery_location_id: 8,
    ...o,
  }),
  transaction: (o: Row = {}): Row => ({ transaction_id: 1, transaction_type: 'PURCHASE', sales_order_id: null, purchase_order_id: 2, ...AUDIT, ...o }),
  payment: (o: Row = {}): Row => ({
    payment_id: 2,
    ...AUDIT,
    transaction_id: 2,
    counterparty_id: 15,
    payment_amount: '552548.62',
    currency_id: 2,
    payment_type_id: 3,
    paid: false,
    payment_date: '2022-11-04',
    company_ac_number: 67305075,
    counterparty_ac_number: 31622269,
    ...o,
  }),
} satisfies Record<SourceTable, (o?: Row) => Row>;

export interface EventOptions {
  /** Commit LSN as a number (e.g. 0x1000) or text; defaults to an increasing counter. */
  lsn?: bigint | number | string;
  /** Position inside the transaction (default 0). */
  seq?: number;
  commitTs?: string;
  before?: Row | null;
  snapshot?: boolean;
}

let nextLsn = 0x16b0000n;

/** A valid change event for `table` whose row image is `row` (after for c/u/r, before for d). */
export function changeEvent(table: SourceTable, op: ChangeOp, row: Row, options: EventOptions = {}): ChangeEvent {
  const lsnValue = options.lsn === undefined ? (nextLsn += 0x100n) : typeof options.lsn === 'string' ? options.lsn : BigInt(options.lsn);
  const commitLsn = typeof lsnValue === 'string' ? lsnValue : formatLsn(lsnValue);
  const seq = options.seq ?? 0;
  const pk = PRIMARY_KEYS[table];
  const snapshot = options.snapshot ?? op === 'r';
  return {
    v: 1,
    id: snapshot ? `snapshot/${table}/${String(row[pk])}@${commitLsn}` : `${commitLsn}/${seq}`,
    op,
    table,
    key: { [pk]: row[pk] },
    before: op === 'd' ? row : (options.before ?? null),
    after: op === 'd' ? null : row,
    source: { lsn: commitLsn, commitLsn, xid: 771, commitTs: options.commitTs ?? '2026-11-22T12:00:00.123Z', snapshot },
  };
}
