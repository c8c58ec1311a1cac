import type pg from 'pg';
import type { SourceTable } from '../../contracts/source-tables.js';
import type { Prng } from '../prng.js';
import { MS_PER_DAY, formatDate, formatTimestamp, startOfUtcDay } from '../source-time.js';
import { companyName } from '../generator/dimension-rows.js';
import { DESIGN_FOLDERS, DESIGN_MATERIALS, FILE_SUFFIX_ALPHABET, ITEM_CODE_ALPHABET } from '../generator/reference-values.js';
import { DIMENSION_CHANGES, SILENT_DESIGN_SHARE, SILENT_SALES_ORDER_COLUMNS, type ChangeKind } from './change-mix.js';

/**
 * One simulated business event, applied as ONE source transaction (the caller wraps BEGIN/COMMIT).
 * Rows are chosen deterministically from the data: draw a target id, take the first qualifying
 * row at or after it (wrapping to the start), so the same data and the same PRNG draws choose the
 * same rows. Non-silent changes stamp last_updated with the simulator's clock (ms precision);
 * silent updates leave it alone on purpose, like the real totesys does.
 */
export interface ChangedRow {
  table: SourceTable;
  id: number;
}

export interface SimulatedChange {
  /** 1-based position in this run. */
  seq: number;
  kind: ChangeKind;
  /** The main row changed (the order for new/deleted orders). */
  table: SourceTable;
  id: number;
  /** The column a silent update or dimension change altered. */
  column?: string;
  /** Every row written, children included, in write order. */
  rows: ChangedRow[];
  /** last_updated written (absent for silent updates and deletes). */
  lastUpdated?: string;
}

/** What the simulator knows about the database: valid foreign-key targets and id ranges. */
export interface SimulatorState {
  staffIds: number[];
  counterpartyIds: number[];
  addressIds: number[];
  currencyIds: number[];
  designIds: number[];
  departmentIds: number[];
  salesReceiptTypeId: number;
  purchasePaymentTypeId: number;
  maxIds: Record<'sales_order' | 'payment', number>;
}

export type ChangeResult = Omit<SimulatedChange, 'seq'> | null;

export interface ChangeContext {
  client: pg.ClientBase;
  prng: Prng;
  state: SimulatorState;
  nowMs: number;
}

const DELIVERY_OFFSET_WEIGHTS = [6, 14.5, 14.5, 14.5, 14.5, 14.5, 13.5, 8];
const PAYMENT_OFFSET_WEIGHTS = [7, 17, 16, 17, 16.5, 17, 9.5];

async function firstIdFrom(client: pg.ClientBase, sql: (bound: string) => string, target: number, params: unknown[] = []): Promise<number | null> {
  // sql(bound) must select one id column named "id", ordered by it, LIMIT 1, with `bound` as an extra predicate.
  const n = params.length + 1;
  const atOrAfter = await client.query(sql(`AND id_col >= $${n}`), [...params, target]);
  if (atOrAfter.rows.length) return atOrAfter.rows[0].id as number;
  const any = await client.query(sql(''), params);
  return any.rows.length ? (any.rows[0].id as number) : null;
}

function otherThan<T>(prng: Prng, items: readonly T[], current: T): T {
  const choices = items.filter((x) => x !== current);
  return choices.length ? prng.pick(choices) : current;
}

export async function newOrder(ctx: ChangeContext, kind: 'new_sales_order' | 'new_purchase_order'): Promise<ChangeResult> {
  const { client, prng, state, nowMs } = ctx;
  const isSale = kind === 'new_sales_order';
  const now = formatTimestamp(nowMs);
  const today = startOfUtcDay(nowMs);
  // Fixed draw order, whatever the kind: keeps the decision sequence independent of values.
  const staffId = prng.pick(state.staffIds);
  const counterpartyId = prng.pick(state.counterpartyIds);
  const currencyId = prng.pick(state.currencyIds);
  const locationId = prng.pick(state.addressIds);
  const designId = prng.pick(state.designIds);
  let itemCode = '';
  for (let i = 0; i < 7; i++) itemCode += ITEM_CODE_ALPHABET[prng.int(0, ITEM_CODE_ALPHABET.length - 1)];
  const quantity = isSale ? prng.int(1_000, 100_000) : prng.int(1, 999);
  const priceCents = isSale ? prng.int(200, 400) : prng.int(100, 100_000);
  const deliveryDate = formatDate(today + prng.weightedIndex(DELIVERY_OFFSET_WEIGHTS) * MS_PER_DAY);
  const paymentDate = formatDate(today + prng.weightedIndex(PAYMENT_OFFSET_WEIGHTS) * MS_PER_DAY);
  const companyAc = prng.int(10_000_000, 99_999_999);
  const counterpartyAc = prng.int(10_000_000, 99_999_999);
  const price = (priceCents / 100).toFixed(2);

  const order = isSale
    ? await client.query(
        `INSERT INTO sales_order (created_at, last_updated, design_id, staff_id, counterparty_id, units_sold, unit_price, currency_id, agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
         VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING sales_order_id AS id`,
        [now, designId, staffId, counterpartyId, quantity, price, currencyId, deliveryDate, paymentDate, locationId],
      )
    : await client.query(
        `INSERT INTO purchase_order (created_at, last_updated, staff_id, counterparty_id, item_code, item_quantity, item_unit_price, currency_id, agreed_delivery_date, agreed_payment_date, agreed_delivery_location_id)
         VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING purchase_order_id AS id`,
        [now, staffId, counterpartyId, itemCode, quantity, price, currencyId, deliveryDate, paymentDate, locationId],
      );
  const orderId = order.rows[0].id as number;
  const transaction = await client.query(
    `INSERT INTO transaction (transaction_type, sales_order_id, purchase_order_id, created_at, last_updated) VALUES ($1, $2, $3, $4, $4) RETURNING transaction_id AS id`,
    [isSale ? 'SALE' : 'PURCHASE', isSale ? orderId : null, isSale ? null : orderId, now],
  );
  const transactionId = transaction.rows[0].id as number;
  // payment_amount = quantity × unit price, computed by Postgres in numeric (never JS floats).
  const payment = await client.query(
    `INSERT INTO payment (created_at, last_updated, transaction_id, counterparty_id, payment_amount, currency_id, payment_type_id, paid, payment_date, company_ac_number, counterparty_ac_number)
     VALUES ($1, $1, $2, $3, $4::int * $5::numeric, $6, $7, false, $8, $9, $10) RETURNING payment_id AS id`,
    [now, transactionId, counterpartyId, quantity, price, currencyId, isSale ? state.salesReceiptTypeId : state.purchasePaymentTypeId, paymentDate, companyAc, counterpartyAc],
  );
  const paymentId = payment.rows[0].id as number;
  if (isSale) state.maxIds.sales_order = Math.max(state.maxIds.sales_order, orderId);
  state.maxIds.payment = Math.max(state.maxIds.payment, paymentId);
  const table = isSale ? 'sales_order' : 'purchase_order';
  return {
    kind,
    table,
    id: orderId,
    rows: [{ table, id: orderId }, { table: 'transaction', id: transactionId }, { table: 'payment', id: paymentId }],
    lastUpdated: now,
  };
}

/** The daily job's work, one payment at a time: a due, unpaid payment becomes paid. */
export async function paymentPaid(ctx: ChangeContext): Promise<ChangeResult> {
  const { client, prng, state, nowMs } = ctx;
  const target = prng.int(1, Math.max(1, state.maxIds.payment));
  const today = formatDate(nowMs);
  const id = await firstIdFrom(
    client,
    (bound) => `SELECT payment_id AS id FROM payment WHERE NOT paid AND payment_date <= $1 ${bound.replace('id_col', 'payment_id')} ORDER BY payment_id LIMIT 1 FOR UPDATE`,
    target,
    [today],
  );
  if (id === null) return null;
  const now = formatTimestamp(nowMs);
  await client.query('UPDATE payment SET paid = true, last_updated = $1 WHERE payment_id = $2', [now, id]);
  return { kind: 'payment_paid', table: 'payment', id, column: 'paid', rows: [{ table: 'payment', id }], lastUpdated: now };
}

/** The real totesys quirk: these columns change while last_updated stays as it was. */
export async function silentUpdate(ctx: ChangeContext): Promise<ChangeResult> {
  const { client, prng, state } = ctx;
  const onDesign = prng.chance(SILENT_DESIGN_SHARE);
  const column = prng.pick(SILENT_SALES_ORDER_COLUMNS);
  const draw = prng.next();
  const offsetDays = prng.int(1, 10);
  if (onDesign) {
    const target = state.designIds[Math.floor(draw * state.designIds.length)];
    const id = await firstIdFrom(client, (bound) => `SELECT design_id AS id FROM design WHERE true ${bound.replace('id_col', 'design_id')} ORDER BY design_id LIMIT 1 FOR UPDATE`, target);
    if (id === null) return null;
    const { rows } = await client.query('SELECT file_location FROM design WHERE design_id = $1', [id]);
    const folder = otherThan(prng, DESIGN_FOLDERS, rows[0].file_location as string);
    await client.query('UPDATE design SET file_location = $1 WHERE design_id = $2', [folder, id]);
    return { kind: 'silent_update', table: 'design', id, column: 'file_location', rows: [{ table: 'design', id }] };
  }
  const target = 1 + Math.floor(draw * Math.max(1, state.maxIds.sales_order));
  const id = await firstIdFrom(client, (bound) => `SELECT sales_order_id AS id FROM sales_order WHERE true ${bound.replace('id_col', 'sales_order_id')} ORDER BY sales_order_id LIMIT 1 FOR UPDATE`, target);
  if (id === null) return null;
  const { rows } = await client.query('SELECT staff_id, design_id, agreed_delivery_date, agreed_delivery_location_id FROM sales_order WHERE sales_order_id = $1', [id]);
  const current = rows[0];
  let value: number | string;
  switch (column) {
    case 'staff_id': value = otherThan(prng, state.staffIds, current.staff_id); break;
    case 'design_id': value = otherThan(prng, state.designIds, current.design_id); break;
    case 'agreed_delivery_location_id': value = otherThan(prng, state.addressIds, current.agreed_delivery_location_id); break;
    case 'agreed_delivery_date': value = formatDate(Date.parse(`${current.agreed_delivery_date}T00:00:00Z`) + offsetDays * MS_PER_DAY); break;
  }
  // The column name comes from a fixed list, never from data; quoted anyway.
  await client.query(`UPDATE sales_order SET ${client.escapeIdentifier(column)} = $1 WHERE sales_order_id = $2`, [value, id]);
  return { kind: 'silent_update', table: 'sales_order', id, column, rows: [{ table: 'sales_order', id }] };
}

/** Cancels an unpaid order: payments, then transactions, then the order (children first). */
export async function deleteUnpaidOrder(ctx: ChangeContext): Promise<ChangeResult> {
  const { client, prng, state } = ctx;
  const target = prng.int(1, Math.max(1, state.maxIds.payment));
  const paymentId = await firstIdFrom(client, (bound) => `SELECT payment_id AS id FROM payment WHERE NOT paid ${bound.replace('id_col', 'payment_id')} ORDER BY payment_id LIMIT 1`, target);
  if (paymentId === null) return null;
  const { rows } = await client.query(
    `SELECT t.transaction_type::text AS type, t.sales_order_id, t.purchase_order_id FROM payment p JOIN transaction t USING (transaction_id) WHERE p.payment_id = $1`,
    [paymentId],
  );
  if (!rows.length) return null;
  const isSale = rows[0].type === 'SALE';
  const table: SourceTable = isSale ? 'sales_order' : 'purchase_order';
  const orderId = (isSale ? rows[0].sales_order_id : rows[0].purchase_order_id) as number | null;
  if (orderId === null) return null;
  const orderColumn = isSale ? 'sales_order_id' : 'purchase_order_id';
  // Lock the order first so a concurrent writer cannot attach a new transaction while we delete.
  await client.query(`SELECT 1 FROM ${client.escapeIdentifier(table)} WHERE ${client.escapeIdentifier(orderColumn)} = $1 FOR UPDATE`, [orderId]);
  const payments = await client.query(
    `DELETE FROM payment WHERE transaction_id IN (SELECT transaction_id FROM transaction WHERE ${client.escapeIdentifier(orderColumn)} = $1) RETURNING payment_id AS id`,
    [orderId],
  );
  const transactions = await client.query(`DELETE FROM transaction WHERE ${client.escapeIdentifier(orderColumn)} = $1 RETURNING transaction_id AS id`, [orderId]);
  await client.query(`DELETE FROM ${client.escapeIdentifier(table)} WHERE ${client.escapeIdentifier(orderColumn)} = $1`, [orderId]);
  return {
    kind: 'delete_unpaid_order',
    table,
    id: orderId,
    rows: [
      ...payments.rows.map((r) => ({ table: 'payment' as const, id: r.id as number })),
      ...transactions.rows.map((r) => ({ table: 'transaction' as const, id: r.id as number })),
      { table, id: orderId },
    ],
  };
}

/** Rare edits of dimension rows (or a new design), so joined dimensions see changes. */
export async function dimensionChange(ctx: ChangeContext): Promise<ChangeResult> {
  const { client, prng, state, nowMs } = ctx;
  const which = prng.pick(DIMENSION_CHANGES);
  const now = formatTimestamp(nowMs);
  switch (which) {
    case 'staff_department': {
      const id = prng.pick(state.staffIds);
      const { rows } = await client.query('SELECT department_id FROM staff WHERE staff_id = $1', [id]);
      if (!rows.length) return null;
      const departmentId = otherThan(prng, state.departmentIds, rows[0].department_id);
      await client.query('UPDATE staff SET department_id = $1, last_updated = $2 WHERE staff_id = $3', [departmentId, now, id]);
      return { kind: 'dimension_change', table: 'staff', id, column: 'department_id', rows: [{ table: 'staff', id }], lastUpdated: now };
    }
    case 'address_phone': {
      const id = prng.pick(state.addressIds);
      const phone = `${String(prng.int(0, 9_999)).padStart(4, '0')} ${String(prng.int(0, 999_999)).padStart(6, '0')}`;
      const { rowCount } = await client.query('UPDATE address SET phone = $1, last_updated = $2 WHERE address_id = $3', [phone, now, id]);
      return rowCount ? { kind: 'dimension_change', table: 'address', id, column: 'phone', rows: [{ table: 'address', id }], lastUpdated: now } : null;
    }
    case 'counterparty_rename': {
      const id = prng.pick(state.counterpartyIds);
      const name = companyName(prng);
      const { rowCount } = await client.query('UPDATE counterparty SET counterparty_legal_name = $1, last_updated = $2 WHERE counterparty_id = $3', [name, now, id]);
      return rowCount ? { kind: 'dimension_change', table: 'counterparty', id, column: 'counterparty_legal_name', rows: [{ table: 'counterparty', id }], lastUpdated: now } : null;
    }
    case 'new_design': {
      const material = prng.pick(DESIGN_MATERIALS);
      let suffix = '';
      for (let i = 0; i < 4; i++) suffix += FILE_SUFFIX_ALPHABET[prng.int(0, FILE_SUFFIX_ALPHABET.length - 1)];
      const fileName = `${material.toLowerCase()}-${formatDate(nowMs).replace(/-/g, '')}-${suffix}.json`;
      const { rows } = await client.query(
        'INSERT INTO design (created_at, last_updated, design_name, file_location, file_name) VALUES ($1, $1, $2, $3, $4) RETURNING design_id AS id',
        [now, material, prng.pick(DESIGN_FOLDERS), fileName],
      );
      const id = rows[0].id as number;
      state.designIds.push(id);
      return { kind: 'dimension_change', table: 'design', id, rows: [{ table: 'design', id }], lastUpdated: now };
    }
  }
}
