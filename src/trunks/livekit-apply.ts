import type {
  SIPDispatchRuleInfo,
  SIPInboundTrunkInfo,
  SIPOutboundTrunkInfo,
} from '@livekit/protocol';
import { livekitCall, LivekitError, type GatewaySipClient } from '../livekit/index.js';

const isNotFound = (error: unknown) => error instanceof LivekitError && error.kind === 'not_found';

interface Operations<T> {
  update(id: string, desired: T): Promise<string>;
  create(desired: T): Promise<string>;
  remove(id: string): Promise<unknown>;
}

/**
 * Makes LiveKit hold `desired` (or nothing, when null) where `currentId` points, keeping the id
 * stable when the object still exists so dispatch rules that name it stay valid. An object
 * already gone counts as deleted; one gone before an update is created again.
 * Returns the LiveKit id now holding it, or null.
 */
async function apply<T>(
  ops: Operations<T>,
  currentId: string | null,
  desired: T | null,
): Promise<string | null> {
  if (!desired) {
    if (currentId) {
      try {
        await livekitCall(() => ops.remove(currentId));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return null;
  }
  if (currentId) {
    try {
      return await livekitCall(() => ops.update(currentId, desired));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return livekitCall(() => ops.create(desired));
}

export function applyInbound(
  sip: GatewaySipClient,
  currentId: string | null,
  desired: SIPInboundTrunkInfo | null,
): Promise<string | null> {
  const ops: Operations<SIPInboundTrunkInfo> = {
    update: async (id, d) => {
      d.sipTrunkId = id;
      return (await sip.updateSipInboundTrunk(id, d)).sipTrunkId;
    },
    create: async (d) => {
      d.sipTrunkId = '';
      const created = await sip.createSipInboundTrunk(d.name, d.numbers, {
        metadata: d.metadata,
        allowedAddresses: d.allowedAddresses,
        authUsername: d.authUsername || undefined,
        authPassword: d.authPassword || undefined,
        mediaEncryption: d.mediaEncryption,
      });
      return created.sipTrunkId;
    },
    remove: (id) => sip.deleteSipTrunk(id),
  };
  return apply(ops, currentId, desired);
}

export function applyOutbound(
  sip: GatewaySipClient,
  currentId: string | null,
  desired: SIPOutboundTrunkInfo | null,
): Promise<string | null> {
  const ops: Operations<SIPOutboundTrunkInfo> = {
    update: async (id, d) => {
      d.sipTrunkId = id;
      return (await sip.updateSipOutboundTrunk(id, d)).sipTrunkId;
    },
    create: async (d) => {
      const created = await sip.createSipOutboundTrunk(d.name, d.address, d.numbers, {
        metadata: d.metadata,
        transport: d.transport,
        authUsername: d.authUsername || undefined,
        authPassword: d.authPassword || undefined,
        mediaEncryption: d.mediaEncryption,
      });
      // The SDK's create has no from_host; set it on the new trunk before anyone dials out.
      if (d.fromHost) {
        d.sipTrunkId = created.sipTrunkId;
        await sip.updateSipOutboundTrunk(created.sipTrunkId, d);
      }
      return created.sipTrunkId;
    },
    remove: (id) => sip.deleteSipTrunk(id),
  };
  return apply(ops, currentId, desired);
}

export function applyRule(
  sip: GatewaySipClient,
  currentId: string | null,
  desired: SIPDispatchRuleInfo | null,
): Promise<string | null> {
  const ops: Operations<SIPDispatchRuleInfo> = {
    update: async (id, d) => {
      d.sipDispatchRuleId = id;
      return (await sip.replaceDispatchRuleInfo(id, d)).sipDispatchRuleId;
    },
    create: async (d) => {
      d.sipDispatchRuleId = '';
      return (await sip.createDispatchRuleInfo(d)).sipDispatchRuleId;
    },
    remove: (id) => sip.deleteSipDispatchRule(id),
  };
  return apply(ops, currentId, desired);
}
