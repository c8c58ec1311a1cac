import type { SourceTable } from '../contracts/source-tables.js';

/**
 * The totesys columns as schema.sql creates them (names, order and types from the real database,
 * docs/architecture.md#the-totesys-source-model), used by `checkSourceSchema` to tell whether an
 * external database looks like totesys. Types use the spelling `describeSourceSchema` produces.
 */
export interface ExpectedColumn {
  name: string;
  type: string;
  nullable: boolean;
}

const ts = (name: string): ExpectedColumn => ({ name, type: 'timestamp(3) without time zone', nullable: false });
const int = (name: string, nullable = false): ExpectedColumn => ({ name, type: 'integer', nullable });
const varchar = (name: string, nullable = false): ExpectedColumn => ({ name, type: 'character varying', nullable });
const text = (name: string): ExpectedColumn => ({ name, type: 'text', nullable: false });
const money = (name: string): ExpectedColumn => ({ name, type: 'numeric(10,2)', nullable: false });

export const EXPECTED_SOURCE_COLUMNS: Readonly<Record<SourceTable, readonly ExpectedColumn[]>> = {
  address: [int('address_id'), varchar('address_line_1'), varchar('address_line_2', true), varchar('district', true), varchar('city'), varchar('postal_code'), varchar('country'), varchar('phone'), ts('created_at'), ts('last_updated')],
  counterparty: [int('counterparty_id'), varchar('counterparty_legal_name'), int('legal_address_id'), varchar('commercial_contact', true), varchar('delivery_contact', true), ts('created_at'), ts('last_updated')],
  currency: [int('currency_id'), { name: 'currency_code', type: 'character varying(3)', nullable: false }, ts('created_at'), ts('last_updated')],
  department: [int('department_id'), varchar('department_name'), varchar('location', true), varchar('manager', true), ts('created_at'), ts('last_updated')],
  design: [int('design_id'), ts('created_at'), ts('last_updated'), varchar('design_name'), varchar('file_location'), varchar('file_name')],
  payment_type: [int('payment_type_id'), { name: 'payment_type_name', type: 'payment_type_name', nullable: false }, ts('created_at'), ts('last_updated')],
  staff: [int('staff_id'), varchar('first_name'), varchar('last_name'), int('department_id'), varchar('email_address'), ts('created_at'), ts('last_updated')],
  purchase_order: [int('purchase_order_id'), ts('created_at'), ts('last_updated'), int('staff_id'), int('counterparty_id'), varchar('item_code'), int('item_quantity'), money('item_unit_price'), int('currency_id'), text('agreed_delivery_date'), text('agreed_payment_date'), int('agreed_delivery_location_id')],
  sales_order: [int('sales_order_id'), ts('created_at'), ts('last_updated'), int('design_id'), int('staff_id'), int('counterparty_id'), int('units_sold'), money('unit_price'), int('currency_id'), text('agreed_delivery_date'), text('agreed_payment_date'), int('agreed_delivery_location_id')],
  transaction: [int('transaction_id'), { name: 'transaction_type', type: 'transaction_type', nullable: false }, int('sales_order_id', true), int('purchase_order_id', true), ts('created_at'), ts('last_updated')],
  payment: [int('payment_id'), ts('created_at'), ts('last_updated'), int('transaction_id'), int('counterparty_id'), money('payment_amount'), int('currency_id'), int('payment_type_id'), { name: 'paid', type: 'boolean', nullable: false }, text('payment_date'), int('company_ac_number'), int('counterparty_ac_number')],
};
