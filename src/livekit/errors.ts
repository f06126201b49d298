import { TwirpError } from 'livekit-server-sdk';

export type LivekitFailureKind = 'unavailable' | 'rejected' | 'not_found';

/** A LiveKit API call that failed, classified by what the caller should do about it. */
export class LivekitError extends Error {
  /** Set to false by a caller whose transaction rolled back: nothing was saved. */
  stored?: boolean;

  constructor(
    readonly kind: LivekitFailureKind,
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'LivekitError';
  }

  /** Unavailable: try again later. Rejected or not found: the request itself must change. */
  get retryable(): boolean {
    return this.kind === 'unavailable';
  }
}

function describeTransport(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'request timed out';
  const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? error.message;
}

export function toLivekitError(error: unknown): LivekitError {
  if (error instanceof LivekitError) return error;
  if (error instanceof TwirpError) {
    if (error.status === 404 || error.code === 'not_found') {
      return new LivekitError('not_found', error.message, error.status, error.code);
    }
    if (error.status >= 500 || error.code === 'unavailable') {
      return new LivekitError(
        'unavailable',
        `LiveKit answered ${error.status}: ${error.message}`,
        error.status,
        error.code,
      );
    }
    return new LivekitError('rejected', error.message, error.status, error.code);
  }
  return new LivekitError('unavailable', `LiveKit unreachable: ${describeTransport(error)}`);
}

/** Runs a LiveKit call and converts whatever it throws into a LivekitError. */
export async function livekitCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toLivekitError(error);
  }
}
