import { describe, expect, it } from 'vitest';
import {
  changeObjectKey,
  errorObjectKey,
  listStartAfter,
  parseChangeObjectKey,
  partitionInRange,
  partitionPrefix,
  routeRecord,
} from '../../archive/archive-layout.js';
import { FIREHOSE_ERROR_OUTPUT_PREFIX, FIREHOSE_S3_PREFIX, firehoseArchiveDestinationSettings } from '../../archive/firehose-settings.js';
import { serializeWatermark } from '../../contracts/watermark.js';

const at = Date.parse('2026-11-22T13:45:06.789Z');
const body = Buffer.from('{"table":"sales_order"}\n');

/** Renders Firehose's prefix template as Firehose documents it (UTC timestamp namespace). */
function renderFirehosePrefix(template: string, values: { table?: string; errorType?: string; ms: number }): string {
  const iso = new Date(values.ms).toISOString();
  return template
    .replace('!{partitionKeyFromQuery:table}', values.table ?? '')
    .replace('!{firehose:error-output-type}', values.errorType ?? '')
    .replace('!{timestamp:yyyy-MM-dd}', iso.slice(0, 10))
    .replace('!{timestamp:HH}', iso.slice(11, 13));
}

describe('archive layout', () => {
  it('keys change objects by table and arrival hour, exactly as the Firehose prefix renders', () => {
    const key = changeObjectKey('sales_order', at, body);
    expect(key).toMatch(/^changes\/table=sales_order\/date=2026-11-22\/hour=13\/totesys-cdc-1-2026-11-22-13-45-06-[0-9a-f]{32}\.json\.gz$/);
    expect(key.startsWith(renderFirehosePrefix(FIREHOSE_S3_PREFIX, { table: 'sales_order', ms: at }))).toBe(true);
    expect(partitionPrefix('sales_order', at)).toBe(renderFirehosePrefix(FIREHOSE_S3_PREFIX, { table: 'sales_order', ms: at }));
    const errorKey = errorObjectKey(at, body);
    expect(errorKey.startsWith(renderFirehosePrefix(FIREHOSE_ERROR_OUTPUT_PREFIX, { errorType: 'processing-failed', ms: at }))).toBe(true);
  });

  it('names are content-addressed: same content same name, different content different name', () => {
    expect(changeObjectKey('sales_order', at, body)).toBe(changeObjectKey('sales_order', at, Buffer.from(body)));
    expect(changeObjectKey('sales_order', at, body)).not.toBe(changeObjectKey('sales_order', at, Buffer.from('{"table":"sales_order","x":1}\n')));
  });

  it('parses keys back and selects hours overlapping [from, to)', () => {
    const partition = parseChangeObjectKey(changeObjectKey('payment', at, body))!;
    expect(partition).toMatchObject({ table: 'payment', date: '2026-11-22', hour: '13', hourStartMs: Date.parse('2026-11-22T13:00:00Z') });
    expect(parseChangeObjectKey('changes/table=payment/oops.json.gz')).toBeNull();
    expect(partitionInRange(partition, new Date('2026-11-22T13:59:59Z'))).toBe(true);
    expect(partitionInRange(partition, new Date('2026-11-22T14:00:00Z'))).toBe(false);
    expect(partitionInRange(partition, undefined, new Date('2026-11-22T13:00:00Z'))).toBe(false);
    expect(partitionInRange(partition, undefined, new Date('2026-11-22T13:00:00.001Z'))).toBe(true);
    const startAfter = listStartAfter('payment', new Date('2026-11-22T13:30:00Z'))!;
    expect(changeObjectKey('payment', at, body) > startAfter).toBe(true);
    expect(changeObjectKey('payment', at - 3_600_000, body) < startAfter).toBe(true);
  });

  it('routes records like the {table: .table} extraction; unknown tables and non-JSON go to errors', () => {
    expect(routeRecord(Buffer.from('{"v":2,"table":"staff"}'))).toEqual({ kind: 'change', table: 'staff' });
    expect(routeRecord(Buffer.from('not json'))).toMatchObject({ kind: 'error' });
    expect(routeRecord(Buffer.from('{"table":"../../etc"}'))).toMatchObject({ kind: 'error', errorCode: 'DynamicPartitioning.UnknownTable' });
    expect(routeRecord(Buffer.from('[1]'))).toMatchObject({ kind: 'error' });
  });

  it('archives the capture\'s watermark records in their own partition, not among errors or any table', () => {
    const watermark = Buffer.from(serializeWatermark({ ts: '2026-12-07T10:00:00.000Z', lsn: '0/16B3748', openShards: ['0'] }));
    expect(routeRecord(watermark)).toEqual({ kind: 'change', table: '_watermark' });
    const at = Date.UTC(2026, 11, 7, 10, 0, 0);
    expect(changeObjectKey('_watermark', at, watermark)).toMatch(/^changes\/table=_watermark\/date=2026-12-07\/hour=10\//);
    // Another record with a `kind` is still routed by its table (or to errors).
    expect(routeRecord(Buffer.from('{"kind":"other"}'))).toMatchObject({ kind: 'error' });
  });

  it('exports the Firehose destination settings the CDK stack uses', () => {
    const settings = firehoseArchiveDestinationSettings();
    expect(settings).toMatchObject({ compressionFormat: 'GZIP', fileExtension: '.json.gz', bufferingHints: { intervalInSeconds: 60, sizeInMBs: 64 }, dynamicPartitioningConfiguration: { enabled: true } });
    expect(settings.processingConfiguration.processors.map((p) => p.type)).toEqual(['MetadataExtraction', 'AppendDelimiterToRecord']);
    expect(settings.processingConfiguration.processors[0]!.parameters).toContainEqual({ parameterName: 'MetadataExtractionQuery', parameterValue: '{table: (if .kind == "watermark" then "_watermark" else .table end)}' });
    settings.prefix = 'mutated';
    expect(firehoseArchiveDestinationSettings().prefix).toBe(FIREHOSE_S3_PREFIX);
  });
});
