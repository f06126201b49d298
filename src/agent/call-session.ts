import type { CallContext } from '../callhost/call-context.js';
import type { Logger } from '../kernel/logger.js';
import type { TranscriptLine } from '../contract/index.js';
import { runBridgeCall } from './bridge-call.js';
import { joinedCaller, type CallDeps } from './call-lifecycle/index.js';
import { effectiveRecording } from './call-recording.js';
import { parseJobMetadata, type JobMetadata } from './job-metadata.js';
import { runOfflineCall } from './offline-call.js';
import { runPipelineCall } from './pipeline-call.js';
import { profileSettingsSchema, type ProfileSettings } from './profile.js';

export type { CallDeps } from './call-lifecycle/index.js';

/**
 * The call's profile. An inbound call one of our dispatch rules sent is answered by the called
 * number's profile when it names one, else by the rule's: the number is known only from the
 * caller's SIP attributes, so this waits for the caller (for a SIP call, in the room before the
 * agent is dispatched). Outbound calls, recoveries and SIP users' rules name theirs.
 */
async function loadProfile(
  ctx: CallContext,
  deps: CallDeps,
  meta: JobMetadata,
  log: Logger,
): Promise<{ id: string | null; settings: ProfileSettings }> {
  const ruleProfile = meta.agent_profile_id;
  if (meta.dispatch_rule_id && meta.direction !== 'outbound' && !meta.recovery) {
    const caller = await joinedCaller(ctx, log);
    if (caller) {
      const { profile, source } = await deps.api.profileForCall({
        to_number: caller.attributes['sip.trunkPhoneNumber'] ?? null,
        livekit_trunk_id: caller.attributes['sip.trunkID'] ?? null,
        rule_profile_id: ruleProfile ?? null,
      });
      log.info({ source, profile: profile?.id ?? null }, 'agent profile chosen');
      if (!profile) return { id: null, settings: deps.offlineProfile };
      return { id: profile.id, settings: profileSettingsSchema.parse(profile.settings) };
    }
  }
  if (!ruleProfile) return { id: null, settings: deps.offlineProfile };
  const profile = await deps.api.profile(ruleProfile);
  return { id: profile.id, settings: profileSettingsSchema.parse(profile.settings) };
}

async function earlierTranscript(
  deps: CallDeps,
  callId: string,
  log: Logger,
): Promise<TranscriptLine[]> {
  try {
    return await deps.api.transcript(callId);
  } catch (error) {
    log.error({ err: error }, 'transcript of the lost agent could not be read; going on without');
    return [];
  }
}

/**
 * One call, from the agent joining the room to the call's end: loads the profile and runs the
 * call in its mode (offline, pipeline or bridge; each on the one lifecycle of
 * src/agent/call-lifecycle).
 */
export async function runCall(ctx: CallContext, deps: CallDeps): Promise<void> {
  const meta = parseJobMetadata(ctx.job.metadata);
  const log = deps.logger.child({ room: ctx.job.room?.name, job: ctx.jobId });
  let profileId: string | null = null;
  let settings: ProfileSettings = deps.offlineProfile;
  let profileError: unknown;
  try {
    ({ id: profileId, settings } = await loadProfile(ctx, deps, meta, log));
  } catch (error) {
    profileError = error;
  }

  if (settings.mode === 'bridge' && profileError === undefined) {
    await runBridgeCall(ctx, deps, settings, profileId, meta);
    return;
  }
  // An agent taking over a call from a lost one goes on from the call's transcript so far.
  const earlier =
    meta.recovery && meta.call_id ? await earlierTranscript(deps, meta.call_id, log) : [];

  // Offline calls take the host's cheap path (no agents-library session); one the profile
  // records takes the session path, whose recorder captures both sides.
  const recorded = effectiveRecording(settings, ctx.metadata)?.enabled === true && !meta.recovery;
  if (settings.mode === 'offline' && profileError === undefined && !recorded) {
    const caller = await joinedCaller(ctx, log);
    if (!caller) return;
    await runOfflineCall(ctx, deps, { caller, settings, profileId, meta, log, earlier });
    return;
  }
  await runPipelineCall(ctx, deps, { settings, profileId, profileError, meta, log, earlier });
}
