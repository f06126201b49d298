/**
 * Every error code the API answers with: its HTTP status, whether the same request may succeed
 * later unchanged (`retryable`), and what it means. docs/errors.md is rendered from this list
 * (`npm run docs:errors`; test/unit/error-catalogue.test.ts fails when the two disagree).
 */
export interface ErrorSpec {
  status: number;
  retryable: boolean;
  meaning: string;
}

export const errorCatalogue = {
  // 400: the request itself is wrong.
  validation_failed: {
    status: 400,
    retryable: false,
    meaning: 'a body, query or path field is invalid; `fields` names each one',
  },
  invalid_json: { status: 400, retryable: false, meaning: 'the request body is not valid JSON' },
  // 401 and 403: who is asking.
  unauthenticated: {
    status: 401,
    retryable: false,
    meaning: 'no API key or agent token, or one that is invalid or revoked',
  },
  invalid_link: {
    status: 401,
    retryable: false,
    meaning: 'a signed join or recording link is invalid, altered or for another room',
  },
  invalid_webhook: {
    status: 401,
    retryable: false,
    meaning: "a LiveKit webhook's signature, body hash or clock window does not check out",
  },
  forbidden: {
    status: 403,
    retryable: false,
    meaning: "the key's role is too weak for the action",
  },
  link_expired: { status: 403, retryable: false, meaning: 'a signed recording link has expired' },
  call_room_forbidden: {
    status: 403,
    retryable: false,
    meaning: "a viewer key asked to join a phone call's room",
  },
  agent_forbidden: {
    status: 403,
    retryable: false,
    meaning: 'the key or link may not send an agent into the room',
  },
  reserved_identity: {
    status: 403,
    retryable: false,
    meaning: 'a join link names an identity the gateway reserves for itself',
  },
  destination_refused: {
    status: 403,
    retryable: false,
    meaning: "the trunk's destination allow-list or premium-rate blocks refuse the number",
  },
  blocked_number: { status: 403, retryable: false, meaning: 'the number is on the blocklist' },
  refused_target: {
    status: 403,
    retryable: false,
    meaning: 'a menu webhook URL points at a private, loopback or metadata address',
  },
  // 404 and 410: what is asked about.
  not_found: { status: 404, retryable: false, meaning: 'no such object or route' },
  recording_missing: {
    status: 404,
    retryable: false,
    meaning: 'the recording is on record but its file is not in storage',
  },
  recording_deleted: {
    status: 410,
    retryable: false,
    meaning: 'the recording was deleted (retention or a delete request)',
  },
  // 409: the request clashes with the state of the object.
  conflict: {
    status: 409,
    retryable: false,
    meaning: 'a name, number or entry is taken, or the object is still in use',
  },
  edge_disabled: {
    status: 409,
    retryable: false,
    meaning: 'the action needs the SIP edge, which is off (EDGE_ENABLED=false)',
  },
  call_ended: { status: 409, retryable: false, meaning: 'the call already ended' },
  call_not_answered: { status: 409, retryable: false, meaning: 'the call is not answered yet' },
  not_a_phone_call: {
    status: 409,
    retryable: false,
    meaning: 'the action needs a SIP call and the call is a web call',
  },
  no_agent: { status: 409, retryable: false, meaning: 'the call has no agent in its room' },
  no_outbound_trunk: {
    status: 409,
    retryable: false,
    meaning: "the call's trunk does not dial out, so a warm transfer cannot call the human",
  },
  transfer_in_progress: {
    status: 409,
    retryable: false,
    meaning: 'the call already has a warm transfer going on',
  },
  already_on_hold: { status: 409, retryable: false, meaning: 'the call is already on hold' },
  not_on_hold: {
    status: 409,
    retryable: false,
    meaning: 'the call is not on hold; nothing to resume',
  },
  call_room: {
    status: 409,
    retryable: false,
    meaning: "an agent is sent only into web rooms, and the room is a phone call's",
  },
  trunk_inactive: { status: 409, retryable: false, meaning: 'the trunk is inactive' },
  trunk_not_outbound: {
    status: 409,
    retryable: false,
    meaning: 'the trunk does not dial out (supports_outbound is false)',
  },
  trunk_not_synced: {
    status: 409,
    retryable: true,
    meaning: 'the trunk has no outbound trunk in LiveKit yet; the reconcile writes it',
  },
  sip_user_blocked: { status: 409, retryable: false, meaning: 'the SIP user is blocked' },
  sip_user_inactive: { status: 409, retryable: false, meaning: 'the SIP user is inactive' },
  sip_user_not_registered: {
    status: 409,
    retryable: true,
    meaning: 'the SIP user has no registration, so no phone of it can ring',
  },
  sip_user_call_limit: {
    status: 409,
    retryable: true,
    meaning: 'the SIP user already carries its max_concurrent_calls',
  },
  // LiveKit: one code per LiveKit condition, wherever the API meets it.
  livekit_conflict: {
    status: 409,
    retryable: false,
    meaning: 'LiveKit already holds a conflicting object (its `already_exists`)',
  },
  livekit_not_found: {
    status: 409,
    retryable: false,
    meaning: 'LiveKit no longer has the room, participant or object (its `not_found`)',
  },
  livekit_rejected: {
    status: 422,
    retryable: false,
    meaning: 'LiveKit refused the request for another reason; `stored` says what was kept',
  },
  livekit_unavailable: {
    status: 503,
    retryable: true,
    meaning: 'LiveKit is unreachable or timed out; `Retry-After: 30`',
  },
  // Failed dials and transfers: the SIP answer, see docs/call-control.md.
  sip_busy: { status: 409, retryable: true, meaning: 'the callee is busy (SIP 486, 600)' },
  sip_declined: { status: 409, retryable: false, meaning: 'the callee declined (SIP 603)' },
  sip_number_not_found: {
    status: 422,
    retryable: false,
    meaning: 'the provider does not know the number (SIP 404, 410, 484, 604)',
  },
  sip_forbidden: {
    status: 502,
    retryable: false,
    meaning: 'the provider refused the call (SIP 401, 403, 407)',
  },
  sip_auth_failed: {
    status: 502,
    retryable: false,
    meaning: "the provider did not accept the trunk's credentials",
  },
  sip_not_acceptable: {
    status: 502,
    retryable: false,
    meaning: "the far end accepts none of the trunk's codecs or media settings (SIP 415, 488, 606)",
  },
  sip_rejected: {
    status: 502,
    retryable: false,
    meaning: 'the far end rejected the call (other 4xx)',
  },
  sip_provider_unavailable: {
    status: 502,
    retryable: true,
    meaning: 'the provider failed on its side (SIP 5xx)',
  },
  sip_no_final_response: {
    status: 502,
    retryable: false,
    meaning: 'LiveKit SIP got no SIP final response it could read',
  },
  sip_no_answer: {
    status: 504,
    retryable: true,
    meaning: 'the callee did not answer in time (SIP 408, 480, 487, or the ringing timeout)',
  },
  // Size and range.
  body_too_large: {
    status: 413,
    retryable: false,
    meaning: 'the request body is larger than API_BODY_LIMIT',
  },
  range_not_satisfiable: {
    status: 416,
    retryable: false,
    meaning: 'the Range header lies outside the recording',
  },
  // 429: limits; `Retry-After` says when.
  rate_limited: {
    status: 429,
    retryable: true,
    meaning: 'too many requests, failed key checks or credential checks from this key or address',
  },
  trunk_rate_limited: {
    status: 429,
    retryable: true,
    meaning: "the trunk's calls_per_second_limit is reached",
  },
  trunk_call_limit: {
    status: 429,
    retryable: true,
    meaning: 'the trunk already carries its max_concurrent_calls',
  },
  calls_max_active: {
    status: 429,
    retryable: true,
    meaning: 'the agents already talk in CALLS_MAX_ACTIVE calls',
  },
  // 5xx: a neighbour failed, or we did.
  internal_error: { status: 500, retryable: false, meaning: 'an unexpected error; the log has it' },
  webhook_failed: {
    status: 502,
    retryable: true,
    meaning: "a menu's webhook did not answer, or answered no usable JSON",
  },
  recordings_off: { status: 503, retryable: false, meaning: 'recordings are not set up' },
  transfers_off: { status: 503, retryable: false, meaning: 'transfers are not set up' },
  webhooks_off: { status: 503, retryable: false, meaning: 'menu webhooks are not set up' },
  turn_not_configured: {
    status: 503,
    retryable: false,
    meaning: 'TURN is not configured (TURN_SECRET)',
  },
  edge_unavailable: { status: 503, retryable: true, meaning: 'the SIP edge does not answer' },
  recording_storage_unavailable: {
    status: 503,
    retryable: true,
    meaning: 'the recording storage (S3) did not answer, or is not the storage configured here',
  },
  agent_timeout: {
    status: 504,
    retryable: true,
    meaning: 'the agent did not confirm the action (keys, hold, resume) in time',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCatalogue, code);
}
