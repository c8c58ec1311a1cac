import { describe, expect, it } from 'vitest';
import { dimCounterpartyRow } from '../../stream-processors/transform/dim-counterparty.js';
import { dimCurrencyRow } from '../../stream-processors/transform/dim-currency.js';
import { dimDateRow, referencedDates } from '../../stream-processors/transform/dim-date.js';
import { dimDesignRow } from '../../stream-processors/transform/dim-design.js';
import { dimLocationRow } from '../../stream-processors/transform/dim-location.js';
import { dimPaymentTypeRow } from '../../stream-processors/transform/dim-payment-type.js';
import { dimStaffRow } from '../../stream-processors/transform/dim-staff.js';
import { dimTransactionRow } from '../../stream-processors/transform/dim-transaction.js';
import { factPaymentRow } from '../../stream-processors/transform/fact-payment.js';
import { factPurchaseOrderRow } from '../../stream-processors/transform/fact-purchase-order.js';
import { factSalesOrderRow } from '../../stream-processors/transform/fact-sales-order.js';
import { SourceValueError } from '../../stream-processors/transform/source-values.js';
import { versionedRowOf } from '../../stream-processors/transform/versioned-row.js';
import { compareDimensionVersions } from '../../contracts/warehouse-model.js';
import { changeEvent, sourceRow } from '../support/change-event-factory.js';

const meta = { commit_ts: '2026-11-22T12:00:00.123Z' };

describe('fact transforms', () => {
  it('fact_sales_order: splits timestamps, renames staff_id, keeps money exact, carries metadata', () => {
    const event = changeEvent('sales_order', 'c', sourceRow.sales_order({ created_at: '2022-11-03T14:20:49.962', last_updated: '2023-01-31T09:05:00.1' }), { lsn: 0x16b37a0, seq: 3 });
    expect(factSalesOrderRow(event)).toEqual({
      sales_order_id: 2,
      created_date: '2022-11-03',
      created_time: '14:20:49.962',
      last_updated_date: '2023-01-31',
      last_updated_time: '09:05:00.100',
      sales_staff_id: 19,
      counterparty_id: 8,
      units_sold: 42972,
      unit_price: '3.94',
      currency_id: 2,
      design_id: 3,
      agreed_payment_date: '2022-11-08',
      agreed_delivery_date: '2022-11-07',
      agreed_delivery_location_id: 8,
      event_id: '0/16B37A0/3',
      op: 'c',
      source_lsn: 0x16b37a0n,
      source_seq: 3,
      ...meta,
    });
  });

  it('fact_purchase_order copies every column and pads money to two decimals', () => {
    const row = factPurchaseOrderRow(changeEvent('purchase_order', 'u', sourceRow.purchase_order({ item_unit_price: '3.9' })));
    expect(row).toMatchObject({ purchase_order_id: 1, staff_id: 12, item_code: 'ZDOI5EA', item_quantity: 371, item_unit_price: '3.90', agreed_delivery_date: '2022-11-09', op: 'u' });
  });

  it('fact_payment drops account numbers', () => {
    const row = factPaymentRow(changeEvent('payment', 'r', sourceRow.payment(), { lsn: 0x100 }));
    expect(row).not.toHaveProperty('company_ac_number');
    expect(row).not.toHaveProperty('counterparty_ac_number');
    expect(row).toMatchObject({ payment_id: 2, payment_amount: '552548.62', paid: false, payment_date: '2022-11-04', op: 'r', source_seq: -1, event_id: 'snapshot/payment/2@0/100' });
  });

  it('a delete becomes a fact version built from `before` with op d', () => {
    const row = factSalesOrderRow(changeEvent('sales_order', 'd', sourceRow.sales_order({ units_sold: 7 })));
    expect(row).toMatchObject({ op: 'd', units_sold: 7, sales_order_id: 2 });
  });

  it('money stays exact: never through a float', () => {
    for (const [input, output] of [['3.94', '3.94'], ['0.1', '0.10'], ['12', '12.00'], ['99999999.99', '99999999.99'], ['007.50', '7.50']]) {
      expect(factSalesOrderRow(changeEvent('sales_order', 'c', sourceRow.sales_order({ unit_price: input }))).unit_price).toBe(output);
    }
    expect(() => factSalesOrderRow(changeEvent('sales_order', 'c', sourceRow.sales_order({ unit_price: 3.94 })))).toThrow(SourceValueError);
    expect(() => factSalesOrderRow(changeEvent('sales_order', 'c', sourceRow.sales_order({ unit_price: '3.945' })))).toThrow(/numeric\(10,2\)/);
  });

  it('accepts the Postgres text form of timestamps (space, trimmed fraction) without zone conversion', () => {
    const row = factPaymentRow(changeEvent('payment', 'c', sourceRow.payment({ created_at: '2024-03-31 23:59:59', last_updated: '2024-03-31T01:02:03.45' })));
    expect(row).toMatchObject({ created_date: '2024-03-31', created_time: '23:59:59.000', last_updated_time: '01:02:03.450' });
  });

  it('refuses values that violate the source schema', () => {
    const bad = (o: Record<string, unknown>) => () => factSalesOrderRow(changeEvent('sales_order', 'c', sourceRow.sales_order(o as never)));
    expect(bad({ units_sold: '12' })).toThrow(/units_sold: expected a 32-bit integer/);
    expect(bad({ units_sold: 1.5 })).toThrow(SourceValueError);
    expect(bad({ agreed_payment_date: '2022-02-30' })).toThrow(/agreed_payment_date: expected a YYYY-MM-DD calendar date/);
    expect(bad({ agreed_payment_date: '08/11/2022' })).toThrow(SourceValueError);
    expect(bad({ created_at: '2022-11-03T25:00:00.000' })).toThrow(/created_at/);
    expect(bad({ staff_id: null })).toThrow(/staff_id/);
    const missing = sourceRow.sales_order();
    delete missing.design_id;
    expect(() => factSalesOrderRow(changeEvent('sales_order', 'c', missing))).toThrow(/design_id: expected a value/);
    expect(() => factPaymentRow(changeEvent('payment', 'c', sourceRow.payment({ paid: 'true' })))).toThrow(/paid: expected a boolean/);
  });
});

describe('dimension transforms', () => {
  it('copies design, transaction and payment_type with the event version', () => {
    const design = dimDesignRow(changeEvent('design', 'u', sourceRow.design(), { lsn: 0x200, seq: 4 }));
    expect(design).toEqual({ design_id: 8, design_name: 'Wooden', file_location: '/usr', file_name: 'wooden-20220717-npgz.json', version_lsn: 0x200n, version_seq: 4, is_deleted: false });
    expect(dimTransactionRow(changeEvent('transaction', 'c', sourceRow.transaction()))).toMatchObject({ transaction_id: 1, transaction_type: 'PURCHASE', sales_order_id: null, purchase_order_id: 2 });
    expect(dimPaymentTypeRow(changeEvent('payment_type', 'r', sourceRow.payment_type()))).toMatchObject({ payment_type_id: 1, payment_type_name: 'SALES_RECEIPT', version_seq: -1 });
  });

  it('a deleted source row becomes a dimension row with is_deleted true', () => {
    expect(dimDesignRow(changeEvent('design', 'd', sourceRow.design()))).toMatchObject({ design_id: 8, is_deleted: true });
  });

  it('dim_currency names codes from ISO 4217 and warns on unknown ones', () => {
    const names = ['GBP', 'USD', 'EUR', 'JPY'].map((code) => dimCurrencyRow(changeEvent('currency', 'c', sourceRow.currency({ currency_code: code }))).currency_name);
    expect(names).toEqual(['Pound Sterling', 'US Dollar', 'Euro', 'Yen']);
    const unknown: string[] = [];
    const row = dimCurrencyRow(changeEvent('currency', 'c', sourceRow.currency({ currency_code: 'XYZ' })), (code) => unknown.push(code));
    expect(row).toMatchObject({ currency_code: 'XYZ', currency_name: null });
    expect(unknown).toEqual(['XYZ']);
  });

  it('dim_location renames address_id to location_id', () => {
    const row = dimLocationRow(versionedRowOf(changeEvent('address', 'c', sourceRow.address({ address_id: 5 }), { lsn: 0x300 })));
    expect(row).toEqual({ location_id: 5, address_line_1: '6826 Herzog Via', address_line_2: null, district: 'Avon', city: 'New Patienceburgh', postal_code: '28441', country: 'Turkey', phone: '1803 637401', version_lsn: 0x300n, version_seq: 0, is_deleted: false });
  });

  it('dim_staff joins department; versioned by the staff row, then the department row ((0, 0) while unknown)', () => {
    const staff = versionedRowOf(changeEvent('staff', 'c', sourceRow.staff(), { lsn: 0x500, seq: 2 }));
    const department = versionedRowOf(changeEvent('department', 'c', sourceRow.department(), { lsn: 0x400, seq: 7 }));
    const alone = dimStaffRow(staff, null);
    const joined = dimStaffRow(staff, department);
    expect(alone).toMatchObject({ staff_id: 1, department_name: null, location: null, version_lsn: 0x500n, version_seq: 2, joined_version_lsn: 0n, joined_version_seq: 0 });
    expect(joined).toEqual({
      staff_id: 1, first_name: 'Jeremie', last_name: 'Franey', department_name: 'Sales', location: 'Manchester', email_address: 'jeremie.franey@terrifictotes.com',
      version_lsn: 0x500n, version_seq: 2, is_deleted: false, joined_version_lsn: 0x400n, joined_version_seq: 7,
    });
    // The completed row outranks the incomplete one although the department's change is older.
    expect(compareDimensionVersions(joined, alone)).toBe(1);
    const newerDepartment = versionedRowOf(changeEvent('department', 'u', sourceRow.department({ location: 'Leeds' }), { lsn: 0x600, seq: 1 }));
    const rejoined = dimStaffRow(staff, newerDepartment);
    expect(rejoined).toMatchObject({ location: 'Leeds', version_lsn: 0x500n, version_seq: 2, joined_version_lsn: 0x600n, joined_version_seq: 1 });
    expect(compareDimensionVersions(rejoined, joined)).toBe(1);
    // A newer staff row outranks every row of an older one, whatever department it was joined with.
    const newerStaff = versionedRowOf(changeEvent('staff', 'u', sourceRow.staff({ department_id: 2 }), { lsn: 0x501 }));
    expect(compareDimensionVersions(dimStaffRow(newerStaff, department), rejoined)).toBe(1);
  });

  it('dim_counterparty joins the legal address', () => {
    const counterparty = versionedRowOf(changeEvent('counterparty', 'c', sourceRow.counterparty(), { lsn: 0x500 }));
    const address = versionedRowOf(changeEvent('address', 'c', sourceRow.address(), { lsn: 0x700 }));
    expect(dimCounterpartyRow(counterparty, address)).toEqual({
      counterparty_id: 1,
      counterparty_legal_name: 'Fahey and Sons',
      counterparty_legal_address_line_1: '6826 Herzog Via',
      counterparty_legal_address_line_2: null,
      counterparty_legal_district: 'Avon',
      counterparty_legal_city: 'New Patienceburgh',
      counterparty_legal_postal_code: '28441',
      counterparty_legal_country: 'Turkey',
      counterparty_legal_phone_number: '1803 637401',
      version_lsn: 0x500n,
      version_seq: 0,
      is_deleted: false,
      joined_version_lsn: 0x700n,
      joined_version_seq: 0,
    });
    const deletedAddress = { ...address, deleted: true, version: { lsn: 0x800n, seq: 3 } };
    expect(dimCounterpartyRow(counterparty, deletedAddress)).toMatchObject({ counterparty_legal_city: null, version_lsn: 0x500n, joined_version_lsn: 0x800n, joined_version_seq: 3 });
  });

  it('dim_date: ISO weekday, English names, quarter', () => {
    expect(dimDateRow('2022-11-03')).toEqual({ date_id: '2022-11-03', year: 2022, month: 11, day: 3, day_of_week: 4, day_name: 'Thursday', month_name: 'November', quarter: 4 });
    expect(dimDateRow('2024-02-29')).toMatchObject({ day_of_week: 4, month_name: 'February', quarter: 1 });
    expect(dimDateRow('2023-01-01')).toMatchObject({ day_of_week: 7, day_name: 'Sunday', quarter: 1 });
    expect(dimDateRow('2023-01-02')).toMatchObject({ day_of_week: 1, day_name: 'Monday' });
    expect(dimDateRow('2023-07-15')).toMatchObject({ quarter: 3, month_name: 'July' });
    expect(() => dimDateRow('2023-02-29')).toThrow(RangeError);
  });

  it('every date a fact references is listed for dim_date', () => {
    const sale = factSalesOrderRow(changeEvent('sales_order', 'c', sourceRow.sales_order({ last_updated: '2022-11-05T10:00:00.000' })));
    expect(referencedDates('fact_sales_order', sale).sort()).toEqual(['2022-11-03', '2022-11-05', '2022-11-07', '2022-11-08']);
    const payment = factPaymentRow(changeEvent('payment', 'c', sourceRow.payment()));
    expect(referencedDates('fact_payment', payment).sort()).toEqual(['2022-11-03', '2022-11-03', '2022-11-04']);
  });
});

describe('calendar date validation', () => {
  it('agrees with the JavaScript calendar on every day of 1999-2101 plus invalid edge cases', async () => {
    const { isCalendarDate } = await import('../../stream-processors/transform/source-values.js');
    const rejected: string[] = [];
    for (let ms = Date.UTC(1999, 0, 1); ms <= Date.UTC(2101, 0, 1); ms += 86_400_000) {
      const date = new Date(ms).toISOString().slice(0, 10);
      if (!isCalendarDate(date)) rejected.push(date);
    }
    expect(rejected).toEqual([]);
    for (const bad of ['2023-02-29', '2100-02-29', '2022-04-31', '2022-00-10', '2022-13-01', '2022-01-00', '0000-01-01', '2022-1-01', '20220101']) expect(isCalendarDate(bad)).toBe(false);
    expect(isCalendarDate('2000-02-29')).toBe(true);
    expect(isCalendarDate('2024-02-29')).toBe(true);
  });
});
