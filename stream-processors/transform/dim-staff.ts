import type { WarehouseRow } from '../../contracts/warehouse-row.js';
import { joinedDimensionVersion } from './row-metadata.js';
import { optionalText, requiredInt } from './source-values.js';
import type { VersionedRow } from './versioned-row.js';

/**
 * staff ⋈ department → dim_staff. The department may be unknown yet (its change is on another
 * shard or later in the stream) or deleted: the department fields are then null and the row is
 * completed when the department arrives. The version is the highest of both sides (see
 * joinedDimensionVersion), so the loader keeps the most complete row whichever side came last.
 */
export function dimStaffRow(staff: VersionedRow, department: VersionedRow | null): WarehouseRow {
  const src = { table: 'staff', row: staff.row };
  const joined = department && !department.deleted ? { table: 'department', row: department.row } : null;
  return {
    staff_id: requiredInt(src, 'staff_id'),
    first_name: optionalText(src, 'first_name'),
    last_name: optionalText(src, 'last_name'),
    department_name: joined ? optionalText(joined, 'department_name') : null,
    location: joined ? optionalText(joined, 'location') : null,
    email_address: optionalText(src, 'email_address'),
    ...joinedDimensionVersion(staff.version, department?.version ?? null, staff.deleted),
  };
}
