import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { RecordingsS3Config } from '../config/index.js';

/** Parts of 8 MiB, two in flight: a long WAV goes up in pieces, holding at most 16 MiB. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** A stored object's body and headers (a byte range of it when one was asked for). */
export interface StoredObject {
  body: Readable | undefined;
  contentLength: number | undefined;
  /** Set for a range: "bytes 0-99/1234". */
  contentRange: string | undefined;
  etag: string | undefined;
  lastModified: Date | undefined;
}

/** Why the store refused or failed: the API maps these to 404, 416 and 503. */
export class RecordingStoreError extends Error {
  constructor(
    readonly kind: 'missing' | 'bad_range' | 'unavailable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RecordingStoreError';
  }
}

function storeError(error: unknown, what: string): RecordingStoreError {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || status === 404) {
    return new RecordingStoreError('missing', `${what}: no such object in the bucket`);
  }
  if (e.name === 'InvalidRange' || status === 416) {
    return new RecordingStoreError('bad_range', `${what}: the range is outside the object`);
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new RecordingStoreError('unavailable', `${what}: ${reason}`, { cause: error });
}

/**
 * The S3-compatible bucket finished recordings are moved to (RECORDINGS_STORAGE=s3). The AWS
 * SDK is loaded on first use, so the agent worker, which shares this area, never loads it.
 * The secret key lives only inside the SDK's client: it is neither logged nor returned.
 */
export class RecordingBucket {
  readonly bucket: string;
  readonly prefix: string;
  private client: Promise<S3Client> | undefined;
  private sdk: Promise<typeof S3Sdk> | undefined;

  constructor(private readonly settings: RecordingsS3Config) {
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
  }

  /** <prefix><call id>/<file name>: one folder per call, the file's own name inside it. */
  objectKey(callId: string, file: string): string {
    return `${this.prefix}${callId}/${path.posix.basename(file)}`;
  }

  private commands() {
    this.sdk ??= import('@aws-sdk/client-s3');
    return this.sdk;
  }

  private s3(): Promise<S3Client> {
    this.client ??= this.commands().then(
      ({ S3Client }) =>
        new S3Client({
          endpoint: this.settings.endpoint,
          region: this.settings.region,
          forcePathStyle: this.settings.forcePathStyle,
          credentials: this.settings.credentials,
          // Checksums only where S3 requires them: many S3-compatible servers lack the newer ones.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
          maxAttempts: 3,
          requestHandler: { connectionTimeout: 5000, requestTimeout: 120_000 },
        }),
    );
    return this.client;
  }

  /** Uploads a file, in parts when it is large; an interrupted multipart upload is aborted. */
  async upload(key: string, file: string, contentType: string): Promise<void> {
    const [client, { Upload }] = await Promise.all([this.s3(), import('@aws-sdk/lib-storage')]);
    const body = createReadStream(file);
    try {
      await new Upload({
        client,
        params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      }).done();
    } catch (error) {
      throw storeError(error, `upload of ${key}`);
    } finally {
      body.destroy();
    }
  }

  /** The object, or the byte range `range` ("bytes=0-99") of it. */
  async get(key: string, range?: string): Promise<StoredObject> {
    const [client, { GetObjectCommand }] = await Promise.all([this.s3(), this.commands()]);
    try {
      const out = await client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range }),
      );
      return {
        body: out.Body as Readable | undefined,
        contentLength: out.ContentLength,
        contentRange: out.ContentRange,
        etag: out.ETag,
        lastModified: out.LastModified,
      };
    } catch (error) {
      throw storeError(error, `download of ${key}`);
    }
  }

  /** The object's size and validators, without its body (HEAD requests). */
  async head(key: string): Promise<StoredObject> {
    const [client, { HeadObjectCommand }] = await Promise.all([this.s3(), this.commands()]);
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        body: undefined,
        contentLength: out.ContentLength,
        contentRange: undefined,
        etag: out.ETag,
        lastModified: out.LastModified,
      };
    } catch (error) {
      throw storeError(error, `lookup of ${key}`);
    }
  }

  /** Deletes the object; deleting one that is already gone succeeds (S3's own rule). */
  async delete(key: string): Promise<void> {
    const [client, { DeleteObjectCommand }] = await Promise.all([this.s3(), this.commands()]);
    try {
      await client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw storeError(error, `deletion of ${key}`);
    }
  }

  /** Closes the client's idle connections. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) (await client).destroy();
  }
}

const buckets = new WeakMap<RecordingsS3Config, RecordingBucket>();

/** One client per configuration: the API's routes and its sweep share it. */
export function recordingBucket(settings: RecordingsS3Config): RecordingBucket {
  let bucket = buckets.get(settings);
  if (!bucket) {
    bucket = new RecordingBucket(settings);
    buckets.set(settings, bucket);
  }
  return bucket;
}
