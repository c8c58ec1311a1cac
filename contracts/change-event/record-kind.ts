/**
 * What kind of stream record a line (or a stream record's text) is. The change stream and the
 * archive carry change events and, besides them, records that are not changes (a watermark: "every
 * change committed before `ts` is on this shard"). Every reader that meets both asks here, so a
 * new kind of record is taught to every reader in this one place. A record that is not a change
 * starts with a `kind` member naming it (a change event starts with `{"v":`); only kinds this
 * codec knows are recognised, anything else is read as a change event and so reported if it is
 * not one.
 */
export type RecordKind = 'change' | 'watermark' | 'reconcile';

const WATERMARK_PREFIX = '{"kind":"watermark"';
const RECONCILE_PREFIX = '{"kind":"reconcile"';

/** The kind of one record's JSON text; leading whitespace is ignored. Reads only the first bytes. */
export function recordKind(text: string): RecordKind {
  let i = 0;
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09 || text.charCodeAt(i) === 0x0a || text.charCodeAt(i) === 0x0d)) i++;
  if (text.startsWith(WATERMARK_PREFIX, i)) return 'watermark';
  return text.startsWith(RECONCILE_PREFIX, i) ? 'reconcile' : 'change';
}
