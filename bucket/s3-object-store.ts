import { isLoopbackEndpoint } from '../platform/aws-endpoint.js';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { PipelineError } from '../platform/errors.js';
import { normalizedS3Prefix, s3Location } from './s3-location.js';
import { ObjectNotFoundError, describableAdapters, type DescribedObjectStore, type ObjectInfo, type ObjectStoreDescription } from './object-store.js';

/** The slice of the S3 client the adapter uses. */
export type S3Sender = Pick<S3Client, 'send'>;

/**
 * An S3 client. In AWS: the default credential chain. With an `endpoint` (an emulator such as
 * s3rver): path-style addressing, checksums only when required (s3rver stores streamed uploads with
 * the default checksum trailer corrupted), the Node HTTP handler, and dummy static credentials only
 * when the endpoint is on loopback.
 */
export function createS3Client(options: { region: string; endpoint?: string }): S3Client {
  if (!options.endpoint) return new S3Client({ region: options.region });
  const loopback = isLoopbackEndpoint(options.endpoint);
  return new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler(),
    // s3rver's built-in (public, dummy) account; not a secret.
    ...(loopback ? { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } } : {}),
  });
}

export class ObjectStoreError extends PipelineError {
  constructor(
    message: string,
    readonly key: string | undefined,
    readonly location: string,
    options: { retryable: boolean; cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A bucket on S3, optionally under a key prefix (`prefix` + key). Listing uses ListObjectsV2 with
 * Prefix and StartAfter only (no Delimiter: s3rver's delimiter listing is wrong, and the port
 * lists flat anyway).
 */
export class S3ObjectStore implements DescribedObjectStore {
  readonly location: string;
  /** Null unless the options say how the client was made (`client`: see createS3Client). */
  readonly description: ObjectStoreDescription | null;
  private readonly prefix: string;
  private readonly pageSize: number;

  constructor(
    private readonly client: S3Sender,
    readonly bucket: string,
    options: { prefix?: string; pageSize?: number; client?: { region: string; endpoint?: string } } = {},
  ) {
    this.pageSize = options.pageSize ?? 1000;
    this.prefix = normalizedS3Prefix(options.prefix);
    this.location = s3Location(bucket, options.prefix);
    this.description = options.client ? { kind: 's3', bucket, prefix: options.prefix, region: options.client.region, endpoint: options.client.endpoint } : null;
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    await this.call(key, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key), Body: body })));
  }

  async get(key: string): Promise<Uint8Array> {
    const output = await this.call(key, () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) })));
    if (!output.Body) return new Uint8Array();
    return output.Body.transformToByteArray();
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.call(key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) })));
      return true;
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return false;
      throw error;
    }
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    // Pages are chained with StartAfter = the page's last key rather than continuation tokens:
    // equivalent on S3, and s3rver's continuation tokens fail under OpenSSL 3 (DES cipher).
    let startAfter = options.startAfter !== undefined ? this.prefix + options.startAfter : undefined;
    for (;;) {
      const output = await this.call(undefined, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, MaxKeys: this.pageSize, ...(startAfter !== undefined ? { StartAfter: startAfter } : {}) })),
      );
      // S3 returns a page in key order; s3rver walks its directory unordered, so sort the page.
      const contents = (output.Contents ?? []).filter((o) => o.Key !== undefined && (startAfter === undefined || o.Key > startAfter));
      contents.sort((a, b) => (a.Key! < b.Key! ? -1 : a.Key! > b.Key! ? 1 : 0));
      for (const object of contents) yield { key: object.Key!.slice(this.prefix.length), size: object.Size ?? 0 };
      if (!output.IsTruncated || contents.length === 0) return;
      startAfter = contents.at(-1)!.Key!;
    }
  }

  async delete(key: string): Promise<void> {
    await this.call(key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) })));
  }

  private keyOf(key: string): string {
    if (!key || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      throw new RangeError(`invalid object key: ${JSON.stringify(key)}`);
    }
    return this.prefix + key;
  }

  /** Runs an S3 call, mapping "no such key" to ObjectNotFoundError and others to categorized errors. */
  private async call<T>(key: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: string };
      const status = e.$metadata?.httpStatusCode;
      if (key !== undefined && (e.name === 'NoSuchKey' || e.name === 'NotFound' || status === 404) && e.name !== 'NoSuchBucket') throw new ObjectNotFoundError(key, this.location);
      const retryable = (status !== undefined && (status >= 500 || status === 429)) || e.name === 'SlowDown' || e.name === 'TimeoutError' || Boolean(e.$retryable) || /^E(CONN|PIPE|TIMEDOUT|AI_AGAIN|HOSTUNREACH)/.test(e.code ?? '');
      throw new ObjectStoreError(`S3 ${key ?? 'list'} in ${this.location} failed: ${(error as Error).message}`, key, this.location, { retryable, cause: error });
    }
  }
}

describableAdapters.add(S3ObjectStore.prototype);
