import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { optionalText, requiredInt } from './source-values.js';
import type { VersionedRow } from './versioned-row.js';

/** address → dim_location (address_id becomes location_id). */
export function dimLocationRow(address: VersionedRow): WarehouseRow {
  const src = { table: 'address', row: address.row };
  return {
    location_id: requiredInt(src, 'address_id'),
    address_line_1: optionalText(src, 'address_line_1'),
    address_line_2: optionalText(src, 'address_line_2'),
    district: optionalText(src, 'district'),
    city: optionalText(src, 'city'),
    postal_code: optionalText(src, 'postal_code'),
    country: optionalText(src, 'country'),
    phone: optionalText(src, 'phone'),
    version_lsn: address.version.lsn,
    version_seq: address.version.seq,
    is_deleted: address.deleted,
  };
}
