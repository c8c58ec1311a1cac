import type { RowValue } from './event.js';

/**
 * Maps a column's Postgres text representation to its change-event value: the contract's value
 * representation (docs/event-contract.md), so it lives with the codec. Both capture paths (the
 * snapshot reads `col::text`, pgoutput sends text tuples) go through this one function, so a row
 * looks the same whether it arrived as an `r` snapshot read or as a streamed change.
 *
 * Mapping by type OID: int2/int4/oid → number; int8 → number when it is a safe integer, else the
 * decimal string (JSON numbers beyond 2^53 lose digits); numeric → decimal string exactly as Postgres
 * printed it (never a float); bool → boolean; float4/float8 → number (NaN/Infinity as text);
 * timestamp → ISO text without zone, fractional digits as printed; timestamptz → ISO UTC with
 * `Z`; everything else (text, varchar, enums, date, json, uuid, ...) → the text as printed.
 */
export const TYPE_OID = {
  bool: 16,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  float4: 700,
  float8: 701,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
} as const;

export function columnValue(typeOid: number, text: string | null | undefined): RowValue {
  if (text === null || text === undefined) return null;
  switch (typeOid) {
    case TYPE_OID.int2:
    case TYPE_OID.int4:
    case TYPE_OID.oid:
      return Number(text);
    case TYPE_OID.int8: {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case TYPE_OID.bool:
      return text === 't' || text === 'true';
    case TYPE_OID.float4:
    case TYPE_OID.float8: {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    case TYPE_OID.timestamp:
      return timestampText(text);
    case TYPE_OID.timestamptz:
      return timestamptzText(text);
    default:
      return text;
  }
}

/** '2022-11-03 14:20:49.962' → '2022-11-03T14:20:49.962'; 'infinity' and BC dates stay as printed. */
export function timestampText(text: string): string {
  return text.length >= 19 && text[10] === ' ' ? `${text.slice(0, 10)}T${text.slice(11)}` : text;
}

const TIMESTAMPTZ = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?$/;

/**
 * '2022-11-03 14:20:49.962+00' (in any session TimeZone, e.g. '+05:30') → '2022-11-03T14:20:49.962Z'.
 * The offset is applied to whole seconds; the fractional digits are kept exactly as printed.
 */
function timestamptzText(text: string): string {
  const m = TIMESTAMPTZ.exec(text);
  if (!m) return text;
  const [, y, mo, d, h, mi, s, fraction = '', sign, oh, om = '0', os = '0'] = m;
  const offsetSeconds = (Number(oh) * 3600 + Number(om) * 60 + Number(os)) * (sign === '+' ? 1 : -1);
  const utcMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetSeconds * 1000;
  const iso = new Date(utcMs).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}${fraction}Z`;
}
