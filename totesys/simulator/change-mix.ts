/**
 * The kinds of change the workload simulator makes, and how often. The mix mirrors the real
 * totesys as seen through CDC: mostly new orders (~22 sales and ~9 purchases a day), the daily job
 * marking due payments paid, a steady trickle of the "silent" updates that do not bump
 * last_updated (the quirk that makes CDC necessary), occasional deletes of unpaid orders and rare
 * dimension edits so joined dimensions (staff ⋈ department, counterparty ⋈ address) change.
 */
export const CHANGE_KINDS = ['new_sales_order', 'new_purchase_order', 'payment_paid', 'silent_update', 'delete_unpaid_order', 'dimension_change'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** Relative weights, in CHANGE_KINDS order (they sum to 100, so each is a percentage). */
export const CHANGE_WEIGHTS: Readonly<Record<ChangeKind, number>> = Object.freeze({
  new_sales_order: 40,
  new_purchase_order: 17,
  payment_paid: 26,
  silent_update: 10,
  delete_unpaid_order: 4,
  dimension_change: 3,
});

/** Silent updates: sales_order columns changed without touching last_updated, or a design's file_location. */
export const SILENT_SALES_ORDER_COLUMNS = ['staff_id', 'design_id', 'agreed_delivery_date', 'agreed_delivery_location_id'] as const;
export const SILENT_DESIGN_SHARE = 0.3;

export const DIMENSION_CHANGES = ['staff_department', 'address_phone', 'counterparty_rename', 'new_design'] as const;
