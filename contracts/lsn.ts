/**
 * A Postgres log sequence number. Postgres prints it as two hex halves `X/Y`; we keep it as an
 * unsigned 64-bit bigint so it can be compared and subtracted (slot lag) without precision loss.
 */
export type Lsn = bigint;

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): Lsn {
  const match = LSN_TEXT.exec(text.trim());
  if (!match) throw new TypeError(`not a Postgres LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n || lsn > 0xffffffffffffffffn) throw new RangeError(`LSN out of range: ${lsn}`);
  const hi = (lsn >> 32n).toString(16).toUpperCase();
  const lo = (lsn & 0xffffffffn).toString(16).toUpperCase();
  return `${hi}/${lo}`;
}

/** Fixed-width, lexicographically sortable form (16 hex digits) for keys and file names. */
export function sortableLsn(lsn: Lsn): string {
  return lsn.toString(16).toUpperCase().padStart(16, '0');
}
