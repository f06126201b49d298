import type {
  SIPDispatchRuleInfo,
  SIPInboundTrunkInfo,
  SIPOutboundTrunkInfo,
} from '@livekit/protocol';
import { livekitCall, LivekitError, type GatewaySipClient } from '../livekit/index.js';

/** Deletes a trunk; one already gone counts as deleted. */
async function deleteTrunk(sip: GatewaySipClient, id: string): Promise<void> {
  try {
    await livekitCall(() => sip.deleteSipTrunk(id));
  } catch (error) {
    if (!(error instanceof LivekitError && error.kind === 'not_found')) throw error;
  }
}

async function deleteRule(sip: GatewaySipClient, id: string): Promise<void> {
  try {
    await livekitCall(() => sip.deleteSipDispatchRule(id));
  } catch (error) {
    if (!(error instanceof LivekitError && error.kind === 'not_found')) throw error;
  }
}

/**
 * Makes LiveKit hold `desired` (or nothing, when null) where `currentId` points, keeping the id
 * stable when the object still exists so dispatch rules that name it stay valid.
 * Returns the LiveKit id now holding it, or null.
 */
export async function applyInbound(
  sip: GatewaySipClient,
  currentId: string | null,
  desired: SIPInboundTrunkInfo | null,
): Promise<string | null> {
  if (!desired) {
    if (currentId) await deleteTrunk(sip, currentId);
    return null;
  }
  if (currentId) {
    try {
      desired.sipTrunkId = currentId;
      return (await livekitCall(() => sip.updateSipInboundTrunk(currentId, desired))).sipTrunkId;
    } catch (error) {
      if (!(error instanceof LivekitError && error.kind === 'not_found')) throw error;
      desired.sipTrunkId = '';
    }
  }
  const created = await livekitCall(() =>
    sip.createSipInboundTrunk(desired.name, desired.numbers, {
      metadata: desired.metadata,
      allowedAddresses: desired.allowedAddresses,
      authUsername: desired.authUsername || undefined,
      authPassword: desired.authPassword || undefined,
    }),
  );
  return created.sipTrunkId;
}

export async function applyOutbound(
  sip: GatewaySipClient,
  currentId: string | null,
  desired: SIPOutboundTrunkInfo | null,
): Promise<string | null> {
  if (!desired) {
    if (currentId) await deleteTrunk(sip, currentId);
    return null;
  }
  if (currentId) {
    try {
      desired.sipTrunkId = currentId;
      return (await livekitCall(() => sip.updateSipOutboundTrunk(currentId, desired))).sipTrunkId;
    } catch (error) {
      if (!(error instanceof LivekitError && error.kind === 'not_found')) throw error;
      desired.sipTrunkId = '';
    }
  }
  const created = await livekitCall(() =>
    sip.createSipOutboundTrunk(desired.name, desired.address, desired.numbers, {
      metadata: desired.metadata,
      transport: desired.transport,
      authUsername: desired.authUsername || undefined,
      authPassword: desired.authPassword || undefined,
    }),
  );
  if (desired.fromHost) {
    desired.sipTrunkId = created.sipTrunkId;
    await livekitCall(() => sip.updateSipOutboundTrunk(created.sipTrunkId, desired));
  }
  return created.sipTrunkId;
}

export async function applyRule(
  sip: GatewaySipClient,
  currentId: string | null,
  desired: SIPDispatchRuleInfo | null,
): Promise<string | null> {
  if (!desired) {
    if (currentId) await deleteRule(sip, currentId);
    return null;
  }
  if (currentId) {
    try {
      desired.sipDispatchRuleId = currentId;
      return (await livekitCall(() => sip.replaceDispatchRuleInfo(currentId, desired)))
        .sipDispatchRuleId;
    } catch (error) {
      if (!(error instanceof LivekitError && error.kind === 'not_found')) throw error;
      desired.sipDispatchRuleId = '';
    }
  }
  return (await livekitCall(() => sip.createDispatchRuleInfo(desired))).sipDispatchRuleId;
}
