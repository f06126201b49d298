/** A known LiveKit log line: how to spot it, and what it means for the operator. */
export interface LogPattern {
  kind: string;
  status: 'warn' | 'fail';
  /** Tested against the message, and each of `fields` against that field of the line. */
  message: RegExp;
  fields?: Record<string, RegExp>;
  cause: string;
  fix: string;
}

/** Most specific first: the first pattern that matches a line classifies it. */
export const logPatterns: LogPattern[] = [
  // The SIP edge's lines about SIP users (deploy/kamailio/edge.cfg, docs/sip-users.md).
  {
    kind: 'sip_user_locked',
    status: 'fail',
    message: /^edge: digest failures for a SIP user reached \d+, locked$/,
    cause:
      'a SIP user (or trunk username) was locked out at one source after repeated wrong digest answers: a phone with a wrong password, or someone guessing',
    fix: 'npm run diagnose -- registration names the user and source; fix the password, then POST /api/sip-users/<user>/unlock',
  },
  {
    kind: 'sip_user_auth_refused',
    status: 'warn',
    message: /^edge: a SIP user's digest answer was refused$/,
    cause:
      "a phone answered the digest challenge wrongly: wrong password, a realm other than the user's, an unknown username, or no qop=auth",
    fix: 'npm run diagnose -- registration --user <name> says which of these it was',
  },
  {
    kind: 'sip_user_not_active',
    status: 'warn',
    message: /^edge: refused a SIP user that is not active$/,
    cause: 'a blocked or inactive SIP user tried to register or call (403 with the reason)',
    fix: 'PUT /api/sip-users/<user> with is_active true and is_blocked false if it should work',
  },
  {
    kind: 'sip_user_call_limit',
    status: 'warn',
    message: /^edge: refused a SIP user's call over its call limit$/,
    cause: 'a SIP user placed more calls at once than its max_concurrent_calls (486)',
    fix: 'raise max_concurrent_calls (PUT /api/sip-users/<user>) or end its other calls',
  },
  {
    kind: 'no_server_over_redis',
    status: 'fail',
    message: /Rejecting inbound, auth check failed/,
    fields: { error: /no response from servers/ },
    cause:
      'no livekit-server answered LiveKit SIP over Redis: the two use different Redis servers or databases, the server runs without Redis, or SIP points at LiveKit Cloud; every call is rejected',
    fix: 'give livekit-server and livekit-sip the same redis section (address and db) and a self-hosted ws_url; raising retries or timeouts does not help (npm run diagnose -- sip)',
  },
  {
    kind: 'auth_check_failed',
    status: 'fail',
    message: /Rejecting inbound, auth check failed/,
    cause: 'LiveKit SIP could not check the INVITE against the trunks',
    fix: 'see the error in the evidence; npm run diagnose -- sip',
  },
  {
    // LiveKit SIP logs the drop itself only at debug level ("Rejecting inbound flood").
    kind: 'dropped_silently',
    status: 'fail',
    message: /^SIP call ended$/,
    fields: { reason: /^flood$/ },
    cause:
      'LiveKit SIP dropped the INVITE without answering: no dispatch rule matched the call (or no trunk authorised its source), so the caller hears ringing until it gives up',
    fix: "scope a dispatch rule to the trunk and check its numbers (called) and inbound_numbers (caller) in the form the provider sends; check the trunk's allowed_addresses against the source",
  },
  {
    kind: 'no_dispatch_rule',
    status: 'fail',
    message: /doesn't match any Dispatch Rules/,
    cause:
      'a trunk took the call but no dispatch rule matched it, so the call gets no room and no agent (the caller hears ringing, then nothing)',
    fix: "scope a dispatch rule to the trunk; check the rule's numbers (called numbers) against inbound_numbers (caller numbers), and the number format (+7... vs 7...)",
  },
  {
    kind: 'digest_not_answered',
    status: 'warn',
    message: /auth challenge timed out without authenticated retry/,
    cause:
      'LiveKit SIP asked the caller for digest credentials and the caller never answered the challenge: the trunk expects a username/password the provider does not send',
    fix: "give the provider the trunk's inbound username/password, or admit it by its addresses (allowed_addresses) instead",
  },
  {
    kind: 'no_ack',
    status: 'fail',
    message: /Call accepted, but no ACK received/,
    cause:
      "the caller never acknowledged LiveKit SIP's 200 OK: the answer did not reach it, usually NAT (wrong address in Contact) or a firewall",
    fix: 'set nat_1_to_1_ip (or use_external_ip) in livekit-sip.yaml to the public address, and open 5060 UDP/TCP',
  },
  {
    kind: 'rtp_ports_exhausted',
    status: 'fail',
    message: /^Cannot start media$/,
    fields: { error: /failed to listen on udp port/ },
    cause:
      "LiveKit SIP found no free port in its rtp_port range: every new call is answered 500 until one frees. Each call holds one even port, so the range's size / 2 is the most calls at once (LiveKit SIP v1.8 also keeps the ports of some calls cancelled while ringing)",
    fix: "widen rtp_port in livekit-sip.yaml (and the firewall's UDP range with it); if ports leak, restart livekit-sip; check `ss -ulnp` for another process holding the range",
  },
  {
    kind: 'media_start_failed',
    status: 'fail',
    message: /^Cannot start media$/,
    cause:
      "LiveKit SIP could not start the call's media and refused it: no codec in common with the caller's offer (answered 400), or a malformed SDP",
    fix: "compare the caller's SDP (in the evidence's log line) with the codecs LiveKit SIP accepts (PCMU, PCMA and G722 among them); the trunk's preferred codecs must include one the provider offers",
  },
  {
    kind: 'media_timeout',
    status: 'fail',
    message: /media timeout(?! (disabled|enabled|loop stopped|stats))/i,
    cause:
      'no RTP arrived for the call: media ports closed or the caller sends media to a wrong (private) address',
    fix: "open livekit-sip's rtp_port range (UDP) and check nat_1_to_1_ip",
  },
  {
    kind: 'flood',
    status: 'warn',
    message: /(Rejecting|Dropping) inbound flood/,
    cause: 'many INVITEs from one source: a scanner or a retransmitting provider',
    fix: 'restrict inbound trunks to the provider addresses; ban scanners at the SIP edge',
  },
  {
    kind: 'call_rejected',
    status: 'warn',
    message: /^Rejecting (inbound )?call$/,
    cause: 'LiveKit SIP rejected an inbound call',
    fix: 'see the error in the evidence',
  },
];
