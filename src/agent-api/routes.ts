import { Router } from 'express';
import { transferCall, type CallControlDeps } from '../calls/control.js';
import { startWarmTransfer } from '../calls/warm-transfer.js';
import { serializeCall } from '../calls/serialize.js';
import {
  agentTransferSchema,
  callProfileRequestSchema,
  callReportSchema,
  hostBeatSchema,
  ivrWebhookRequestSchema,
} from '../contract/index.js';
import type { Db } from '../db/index.js';
import { parseBody } from '../http-kit/errors.js';
import { GatewayError, notFound } from '../errors/index.js';
import { pathParam } from '../http-kit/params.js';
import type { RecordingDeps } from '../recordings/index.js';
import { admitCall, releaseCall } from '../queue/admission.js';
import { CallForwarder, callForwarding, forwardsNow } from '../forwarding/index.js';
import { admissionRequestSchema } from '../queue/internal.js';
import { requireAgent } from './auth.js';
import { profileForCall } from './call-profile.js';
import type { HostBeats } from './host-beats.js';
import { callIvrWebhook, type IvrWebhookDeps } from './ivr-webhook.js';
import { applyCallReport } from './report.js';
import { isUuid } from '../kernel/uuid.js';

const AGENT_ACTOR = { keyId: null, name: 'agent' };

/** /internal/agent: what the call hosts read (profiles, transcripts) and write (call results). */
export function agentInternalRouter(
  db: Db,
  livekitApiSecret: string,
  options: {
    recordings?: RecordingDeps;
    maxActiveCalls?: number;
    callControl?: CallControlDeps;
    /** Where the hosts' beats go (GET /api/config/status reads them). */
    hostBeats?: HostBeats;
    /** Menu webhooks: the SSRF setting and the signing secret of customer webhooks. */
    ivrWebhooks?: Omit<IvrWebhookDeps, 'db'>;
  } = {},
): Router {
  const r = Router();
  r.use('/internal/agent', requireAgent(livekitApiSecret));

  // An inbound call asks for a place under the concurrency limits, then polls while it waits.
  const forwarder = options.callControl && new CallForwarder(options.callControl);
  r.post('/internal/agent/calls/admit', async (req, res) => {
    const input = parseBody(admissionRequestSchema, req.body);
    const forwarding = input.inCall ? undefined : await callForwarding(db, input);
    // A call the number forwards gets no agent: the agent stays silent and leaves.
    const now = forwarding && forwarder && forwardsNow(forwarding, new Date());
    if (now) {
      forwarder.forward(input.roomName, forwarding, now);
      res.json({ state: 'forwarded', reason: now });
      return;
    }
    const admission = await admitCall(db, input, options.maxActiveCalls);
    if (admission.state === 'queued' && forwarding?.mode === 'no_capacity' && forwarder) {
      await db.transaction().execute((tx) => releaseCall(tx, input.roomName, 'forwarded'));
      forwarder.forward(input.roomName, forwarding, 'no_capacity');
      res.json({ state: 'forwarded', reason: 'no_capacity' });
      return;
    }
    res.json({
      state: admission.state,
      ...(admission.state === 'queued' && { position: admission.position }),
      waited_seconds: admission.waitedSeconds,
    });
  });

  // The agent's transfers (IVR, LLM tool, bridge, queue timeout): the API's destination policy
  // decides, as for POST /api/calls/:id/transfer; a refusal is the same 403.
  r.post('/internal/agent/calls/transfer', async (req, res) => {
    const input = parseBody(agentTransferSchema, req.body);
    if (!options.callControl) throw new GatewayError('transfers_off', 'transfers are not set up');
    const call = await db
      .selectFrom('calls')
      .select('id')
      .where('roomName', '=', input.room_name)
      .where('participantIdentity', '=', input.participant_identity)
      .orderBy('startedAt', 'desc')
      .executeTakeFirst();
    if (!call) throw new GatewayError('not_found', 'no call record for this room and participant');
    if (input.mode === 'warm') {
      const started = await startWarmTransfer(
        options.callControl,
        call.id,
        { to: input.to, ...(input.summary !== undefined && { summary: input.summary }) },
        AGENT_ACTOR,
        'agent',
      );
      res
        .status(202)
        .json({ ...serializeCall(started.call), transfer_leg: serializeCall(started.leg) });
      return;
    }
    const transfer = { to: input.to, play_dialtone: false };
    const done = await transferCall(options.callControl, call.id, transfer, AGENT_ACTOR, 'agent');
    res.json(serializeCall(done));
  });

  r.post('/internal/agent/hosts/beat', async (req, res) => {
    const beat = parseBody(hostBeatSchema, req.body);
    await options.hostBeats?.record(beat);
    res.status(204).end();
  });

  // A menu's webhook action: the API makes the request, with the customer webhooks' checks.
  r.post('/internal/agent/calls/ivr-webhook', async (req, res) => {
    const input = parseBody(ivrWebhookRequestSchema, req.body);
    if (!options.ivrWebhooks)
      throw new GatewayError('webhooks_off', 'menu webhooks are not set up');
    res.json(await callIvrWebhook({ db, ...options.ivrWebhooks }, input));
  });

  // An inbound call's profile: the called number's, else its dispatch rule's.
  r.post('/internal/agent/calls/profile', async (req, res) => {
    res.json(await profileForCall(db, parseBody(callProfileRequestSchema, req.body)));
  });

  r.get('/internal/agent/profiles/:id', async (req, res) => {
    const ref = pathParam(req);
    const profile = await db
      .selectFrom('agentProfiles')
      .select(['id', 'name', 'settings'])
      .where((eb) => (isUuid(ref) ? eb('id', '=', ref) : eb('name', '=', ref)))
      .executeTakeFirst();
    if (!profile) throw notFound('agent profile', ref);
    res.json(profile);
  });

  // An agent taking over a call from a lost one goes on from the transcript so far.
  r.get('/internal/agent/calls/:id/transcript', async (req, res) => {
    const id = pathParam(req);
    if (!isUuid(id)) throw notFound('call', id);
    const call = await db
      .selectFrom('calls')
      .select(['id', 'transcript'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!call) throw notFound('call', id);
    const transcript: unknown =
      typeof call.transcript === 'string' ? JSON.parse(call.transcript) : call.transcript;
    res.json({ id: call.id, transcript: Array.isArray(transcript) ? transcript : [] });
  });

  r.post('/internal/agent/calls/report', async (req, res) => {
    const input = parseBody(callReportSchema, req.body);
    const call = await applyCallReport(db, input, options.recordings);
    if (!call) {
      throw new GatewayError('not_found', 'no call record for this room and participant yet');
    }
    res.json(serializeCall(call));
  });
  return r;
}
