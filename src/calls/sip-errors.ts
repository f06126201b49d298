import { SipCallError, TwirpError } from 'livekit-server-sdk';
import { GatewayError, type ErrorCode } from '../errors/index.js';
import { livekitGatewayError, toLivekitError } from '../livekit/index.js';

/** What a failed dial or transfer means to an API client and to the call record. */
export interface SipFailure {
  /** Stable error code in the API answer (`sip_busy`, ...); its status is in the catalogue. */
  code: ErrorCode;
  /** The call record's end_reason. */
  endReason: string;
  /** Who ended it, for the call record's hung_up_by. */
  hungUpBy: 'callee' | 'system';
  sipStatus: number | null;
  sipReason: string | null;
  message: string;
}

interface Outcome {
  code: ErrorCode;
  endReason: string;
  hungUpBy: 'callee' | 'system';
  explain: string;
}

const busy: Outcome = {
  code: 'sip_busy',
  endReason: 'busy',
  hungUpBy: 'callee',
  explain: 'the callee is busy',
};
const declined: Outcome = {
  code: 'sip_declined',
  endReason: 'declined',
  hungUpBy: 'callee',
  explain: 'the callee declined the call',
};
const notFound: Outcome = {
  code: 'sip_number_not_found',
  endReason: 'number_not_found',
  hungUpBy: 'system',
  explain: 'the provider does not know this number',
};
const forbidden: Outcome = {
  code: 'sip_forbidden',
  endReason: 'forbidden',
  hungUpBy: 'system',
  explain:
    "the provider refused the call: check the trunk's credentials, caller number and the destinations the account may call",
};
const noAnswer: Outcome = {
  code: 'sip_no_answer',
  endReason: 'no_answer',
  hungUpBy: 'system',
  explain: 'the callee did not answer in time',
};
const unavailable: Outcome = {
  code: 'sip_provider_unavailable',
  endReason: 'provider_unavailable',
  hungUpBy: 'system',
  explain: 'the provider could not place the call (a server error on its side); try again later',
};
const notAcceptable: Outcome = {
  code: 'sip_not_acceptable',
  endReason: 'media_rejected',
  hungUpBy: 'system',
  explain: "the far end accepts none of the trunk's codecs or media settings",
};
const rejected: Outcome = {
  code: 'sip_rejected',
  endReason: 'rejected',
  hungUpBy: 'system',
  explain: 'the far end rejected the call',
};

const noFinalResponse: Outcome = {
  code: 'sip_no_final_response',
  endReason: 'no_response',
  hungUpBy: 'system',
  explain:
    'LiveKit SIP got no SIP final response it could read: the far end did not answer the request, or refused it too fast for LiveKit SIP to record the status',
};

/** SIP final responses we name; any other 4xx-6xx falls back by class. */
const BY_STATUS: Record<number, Outcome> = {
  401: forbidden,
  403: forbidden,
  404: notFound,
  407: forbidden,
  408: noAnswer,
  410: notFound,
  415: notAcceptable,
  480: noAnswer,
  484: notFound,
  486: busy,
  487: noAnswer,
  488: notAcceptable,
  600: busy,
  603: declined,
  604: notFound,
  606: notAcceptable,
};

function byStatus(status: number): Outcome {
  const named = BY_STATUS[status];
  if (named) return named;
  if (status >= 500 && status < 600) return unavailable;
  return rejected;
}

/**
 * Reads the SIP status LiveKit attaches to a failed CreateSIPParticipant / TransferSIPParticipant
 * (Twirp error metadata `sip_status_code` / `sip_status`). Returns undefined for failures that
 * are not about the SIP call (LiveKit unreachable, bad request), which the caller maps itself.
 */
export function sipFailureOf(error: unknown): SipFailure | undefined {
  if (error instanceof SipCallError && error.sipStatusCode) {
    const status = error.sipStatusCode;
    const reason = error.sipStatus ?? null;
    const outcome = byStatus(status);
    return {
      ...pick(outcome),
      sipStatus: status,
      sipReason: reason,
      message: `${outcome.explain} (SIP ${status}${reason ? ` ${reason}` : ''})`,
    };
  }
  if (!(error instanceof TwirpError)) return undefined;
  // LiveKit SIP gives up on auth without a SIP status: no credentials, or five refused digests.
  if (error.code === 'failed_precondition' && /auth|credential/i.test(error.message)) {
    return {
      ...pick(forbidden),
      code: 'sip_auth_failed',
      sipStatus: null,
      sipReason: null,
      message: `the provider asked for authentication and did not accept the trunk's credentials (${error.message})`,
    };
  }
  // livekit/sip v1.8.0 waits on the SIP transaction's responses and its end at once; when a
  // final answer (e.g. 403 to a REFER) and the end arrive together it may see only the end.
  if (/transaction failed to complete/i.test(error.message)) {
    return {
      ...pick(noFinalResponse),
      sipStatus: null,
      sipReason: null,
      message: `${noFinalResponse.explain} (${error.message})`,
    };
  }
  // LiveKit SIP's ringing timeout: it cancels the INVITE and reports no SIP status of its own.
  if (error.code === 'deadline_exceeded' || /sip request timed out/i.test(error.message)) {
    return {
      ...pick(noAnswer),
      sipStatus: null,
      sipReason: null,
      message: `${noAnswer.explain} (${error.message})`,
    };
  }
  return undefined;
}

function pick(o: Outcome) {
  return { code: o.code, endReason: o.endReason, hungUpBy: o.hungUpBy };
}

/** The GatewayError for a failed SIP dial or transfer; other LiveKit failures map as everywhere. */
export function sipApiError(
  error: unknown,
  extra: Record<string, unknown> = {},
): { apiError: GatewayError; failure: SipFailure | undefined } {
  const failure = sipFailureOf(error);
  if (failure) {
    return {
      failure,
      apiError: new GatewayError(
        failure.code,
        failure.message,
        {
          sip_status: failure.sipStatus,
          sip_reason: failure.sipReason,
          ...extra,
        },
        { cause: error },
      ),
    };
  }
  const lk = toLivekitError(error);
  // LiveKit SIP's admission control: the whole machine's CPU is above max_cpu_utilization.
  const message = lk.message.includes('cpu exhausted')
    ? 'LiveKit SIP refuses new calls while its CPU is above max_cpu_utilization (cpu exhausted); try again shortly'
    : `LiveKit could not place or change the call: ${lk.message}`;
  return {
    failure: undefined,
    apiError: livekitGatewayError(lk, { sip_status: null, ...extra }, message),
  };
}
