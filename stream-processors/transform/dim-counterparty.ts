import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { joinedDimensionVersion } from './row-metadata.js';
import { optionalText, requiredInt } from './source-values.js';
import type { VersionedRow } from './versioned-row.js';

/**
 * counterparty ⋈ address (legal_address_id) → dim_counterparty. A missing or deleted address leaves
 * the address fields null until it arrives; the version is the highest of both sides (see joinedDimensionVersion).
 */
export function dimCounterpartyRow(counterparty: VersionedRow, address: VersionedRow | null): WarehouseRow {
  const src = { table: 'counterparty', row: counterparty.row };
  const joined = address && !address.deleted ? { table: 'address', row: address.row } : null;
  const field = (column: string) => (joined ? optionalText(joined, column) : null);
  return {
    counterparty_id: requiredInt(src, 'counterparty_id'),
    counterparty_legal_name: optionalText(src, 'counterparty_legal_name'),
    counterparty_legal_address_line_1: field('address_line_1'),
    counterparty_legal_address_line_2: field('address_line_2'),
    counterparty_legal_district: field('district'),
    counterparty_legal_city: field('city'),
    counterparty_legal_postal_code: field('postal_code'),
    counterparty_legal_country: field('country'),
    counterparty_legal_phone_number: field('phone'),
    ...joinedDimensionVersion(counterparty.version, address?.version ?? null, counterparty.deleted),
  };
}
