import { setTimeout as sleep } from 'node:timers/promises';
import { cappedExponential } from '../kernel/backoff.js';
import type { z } from 'zod';
import {
  admitAnswerSchema,
  apiErrorBodySchema,
  callProfileAnswerSchema,
  ivrWebhookAnswerSchema,
  callTranscriptAnswerSchema,
  signAgentToken,
  type AdmitAnswer,
  type AdmitRequest,
  type AgentTransfer,
  type CallProfileAnswer,
  type CallProfileRequest,
  type CallReport,
  type HostBeat,
  type IvrWebhookAnswer,
  type IvrWebhookRequest,
  type TranscriptLine,
} from '../contract/index.js';

export type { AdmitAnswer, AdmitRequest, CallReport, TranscriptLine } from '../contract/index.js';

export class GatewayApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The API's error code (docs/errors.md), when its answer carried one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'GatewayApiError';
  }
}

/** The API's answer as the contract says it is, or an error naming the route. */
function answer<T extends z.ZodType>(schema: T, body: unknown, path: string): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new GatewayApiError(`${path}: unexpected answer from the API`, 502);
  return parsed.data;
}

/** The agent worker's client of the API's /internal/agent routes. */
export class GatewayApi {
  constructor(
    private readonly baseUrl: string,
    private readonly livekitApiSecret: string,
    private readonly timeoutMs = 5000,
  ) {}

  private cached: { token: string; renewAt: number } | undefined;

  /** One token for a few minutes, not a fresh signature for every report of the call. */
  private async token(): Promise<string> {
    if (!this.cached || Date.now() >= this.cached.renewAt) {
      const ttlSeconds = 300;
      const token = await signAgentToken(this.livekitApiSecret, ttlSeconds);
      this.cached = { token, renewAt: Date.now() + (ttlSeconds - 60) * 1000 };
    }
    return this.cached.token;
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = this.timeoutMs,
  ): Promise<unknown> {
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: {
        authorization: `Bearer ${await this.token()}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) {
      let message = `${method} ${path}: HTTP ${response.status}`;
      let code: string | undefined;
      try {
        const body = apiErrorBodySchema.safeParse(JSON.parse(text));
        if (body.success) {
          message = `${body.data.error}: ${body.data.message}`;
          code = body.data.error;
        }
      } catch {
        // not JSON: keep the status line
      }
      throw new GatewayApiError(message, response.status, code);
    }
    return text ? JSON.parse(text) : undefined;
  }

  async profile(ref: string): Promise<{ id: string; name: string; settings: unknown }> {
    return (await this.request('GET', `/internal/agent/profiles/${encodeURIComponent(ref)}`)) as {
      id: string;
      name: string;
      settings: unknown;
    };
  }

  /** An inbound call's profile: the called number's, else the dispatch rule's (or none). */
  async profileForCall(request: CallProfileRequest): Promise<CallProfileAnswer> {
    const path = '/internal/agent/calls/profile';
    return answer(callProfileAnswerSchema, await this.request('POST', path, request), path);
  }

  /** A menu's webhook action, made by the API (its URL checks); the line to say. */
  async ivrWebhook(request: IvrWebhookRequest): Promise<IvrWebhookAnswer> {
    const path = '/internal/agent/calls/ivr-webhook';
    const timeout = request.timeout_seconds * 1000 + 2000;
    return answer(ivrWebhookAnswerSchema, await this.request('POST', path, request, timeout), path);
  }

  /** This host is up (GET /api/config/status lists the hosts from these). */
  async hostBeat(beat: HostBeat): Promise<void> {
    await this.request('POST', '/internal/agent/hosts/beat', beat);
  }

  /** The call's transcript so far (an agent taking over a call from a lost one reads it). */
  async transcript(callId: string): Promise<TranscriptLine[]> {
    const path = `/internal/agent/calls/${encodeURIComponent(callId)}/transcript`;
    const body = answer(callTranscriptAnswerSchema, await this.request('GET', path), path);
    return body.transcript;
  }

  /** Asks for the call's place under the concurrency limits (and, while queued, where it is). */
  async admit(request: AdmitRequest): Promise<AdmitAnswer> {
    const path = '/internal/agent/calls/admit';
    return answer(admitAnswerSchema, await this.request('POST', path, request), path);
  }

  /**
   * Transfers the call: the API checks the destination policy (a 403 names the refusing rule)
   * and has LiveKit SIP send the REFER, which waits for the far side's answer.
   */
  async transfer(request: AgentTransfer) {
    // A 404: LiveKit's webhook that opens the call record has not landed yet; a bounded wait.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.request('POST', '/internal/agent/calls/transfer', request, 60_000);
        return;
      } catch (error) {
        const missing = error instanceof GatewayApiError && error.status === 404;
        if (!missing || attempt >= 4) throw error;
        await sleep(cappedExponential(attempt + 1, 100, 1000));
      }
    }
  }

  /**
   * Sends a call report. The call record is opened from LiveKit's webhook, which can arrive after
   * the agent's first report: a 404 is retried a few times, with a bounded wait.
   */
  async report(report: CallReport, attempts = 6): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.request('POST', '/internal/agent/calls/report', report);
        return;
      } catch (error) {
        const retriable = !(error instanceof GatewayApiError) || error.status === 404;
        if (!retriable || attempt >= attempts) throw error;
        await sleep(cappedExponential(attempt + 1, 100, 2000));
      }
    }
  }
}

/** Sends the reports of one call; a failed report is logged, never thrown into the call. */
export function callReporter(
  api: GatewayApi,
  call: { roomName: string; callerIdentity: string; profileId: string | null },
  onError: (error: unknown) => void,
) {
  return (extra: Partial<CallReport>) =>
    api
      .report({
        room_name: call.roomName,
        participant_identity: call.callerIdentity,
        agent_profile_id: call.profileId,
        ...extra,
      })
      .catch(onError);
}
