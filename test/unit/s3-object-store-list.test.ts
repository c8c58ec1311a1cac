import { ListObjectsV2Command, type ListObjectsV2CommandInput, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../bucket/s3-object-store.js';

/**
 * Pagination of S3ObjectStore.list over many pages. s3rver cannot serve this (its continuation
 * tokens use DES, unavailable under OpenSSL 3, and it walks directories unordered), so this uses an
 * in-memory ListObjectsV2 that follows the S3 documentation: keys in UTF-8 binary order, Prefix,
 * StartAfter, MaxKeys, IsTruncated.
 */
function inMemoryS3(keys: string[]): { client: Pick<S3Client, 'send'>; calls: ListObjectsV2CommandInput[] } {
  const sorted = [...keys].sort();
  const calls: ListObjectsV2CommandInput[] = [];
  const send = async (command: unknown) => {
    if (!(command instanceof ListObjectsV2Command)) throw new Error('unexpected command');
    const input = command.input;
    calls.push(input);
    const matching = sorted.filter((k) => k.startsWith(input.Prefix ?? '') && (input.StartAfter === undefined || k > input.StartAfter));
    const page = matching.slice(0, input.MaxKeys ?? 1000);
    return { Contents: page.map((Key) => ({ Key, Size: Key.length })), IsTruncated: matching.length > page.length, KeyCount: page.length };
  };
  return { client: { send: send as S3Client['send'] }, calls };
}

describe('S3ObjectStore.list pagination', () => {
  it('follows pages with StartAfter, within the store prefix, in key order', async () => {
    const keys = Array.from({ length: 2503 }, (_, i) => `root/page/${String(i).padStart(5, '0')}`);
    const { client, calls } = inMemoryS3([...keys, 'root/other/x', 'elsewhere/page/1']);
    const store = new S3ObjectStore(client, 'bucket', { prefix: 'root' });
    const listed: string[] = [];
    for await (const o of store.list('page/')) listed.push(o.key);
    expect(listed).toEqual(keys.map((k) => k.slice('root/'.length)));
    expect(calls).toHaveLength(3);
    expect(calls[1]).toMatchObject({ Bucket: 'bucket', Prefix: 'root/page/', StartAfter: 'root/page/00999' });

    const after: string[] = [];
    for await (const o of store.list('page/', { startAfter: 'page/02500' })) after.push(o.key);
    expect(after).toEqual(['page/02501', 'page/02502']);
  });
});
