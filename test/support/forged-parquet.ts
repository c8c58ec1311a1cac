import { parquetMetadata, type FileMetaData } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';

/**
 * Hostile Parquet files for the reader's bounds: a real file whose footer is rewritten (the data
 * pages stay as they are), e.g. a 1-row file whose footer claims 50M rows.
 */
export function rewriteFooter(bytes: Uint8Array, edit: (metadata: FileMetaData) => FileMetaData): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const metadataLength = view.getUint32(bytes.byteLength - 8, true);
  const body = bytes.subarray(0, bytes.byteLength - 8 - metadataLength);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = edit(parquetMetadata(buffer));
  const writer = new ByteWriter();
  writer.appendBytes(body);
  const start = writer.offset;
  writeMetadata(writer, metadata);
  writer.appendUint32(writer.offset - start);
  writer.appendUint32(0x31524150); // PAR1
  return new Uint8Array(writer.getBuffer());
}

/** The same file with its footer claiming `rows` rows (file and row group). */
export function claimRows(bytes: Uint8Array, rows: number): Uint8Array {
  return rewriteFooter(bytes, (metadata) => ({
    ...metadata,
    num_rows: BigInt(rows),
    row_groups: metadata.row_groups.map((group) => ({ ...group, num_rows: BigInt(rows) })),
  }));
}
