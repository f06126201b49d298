import type { Logger } from '../kernel/logger.js';
import type { Db, SecretBox } from '../db/index.js';
import { publish } from '../webhooks/outbound/index.js';
import {
  dumpHtable,
  dumpRegistrations,
  lastReplies,
  liveState,
  type LastReply,
  type UacRecord,
} from './edge-state.js';
import {
  edgeActive,
  edgeEvents,
  parseKamailioStats,
  setEdgeSipStats,
  edgeUp,
  registrationFailures,
  setRegistrationState,
} from './metrics.js';
import type { RegistrationState } from './metrics.js';
import type { Ownership } from './ownership.js';
import { explainRegisterResponse } from './register-responses.js';
import {
  addressOfRecord,
  loadWantedRegistrations,
  providerAddresses,
  providerNetworks,
  recordMatches,
  regAddParams,
  type WantedRegistration,
} from './registrations.js';
import type { EdgeRpc } from './rpc.js';
import { SelfRegistrations, type SelfRegistrationState } from './self-registrations.js';
import { jitteredExponential } from '../kernel/backoff.js';

export interface SupervisorDeps {
  db: Db;
  box: SecretBox;
  rpc: EdgeRpc;
  ownership: Ownership;
  logger: Logger;
  instanceId: string;
  /** host:port the edge registers as contact (its reg_contact_addr). */
  contactAddr: string;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  /** The edge's relay socket for the gateway's own REGISTERs (SHA-256 registrars). */
  relay: { host: string; port: number; token?: string };
  /** Tells the customer-webhook worker a delivery is waiting. */
  kickWebhooks?: () => void;
}

interface Memory {
  failures: number;
  /** The current failure was counted (and backed off); cleared when the edge retries. */
  counted: boolean;
  nextAttemptAt: Date | null;
  state: RegistrationState | null;
  lastCode: number | null;
}

/**
 * Keeps the edge's registrations equal to the trunks this instance owns, retries failures with
 * backoff, and records each trunk's state (table trunk_registrations, metrics, webhook).
 */
export class RegistrationSupervisor {
  private readonly memory = new Map<string, Memory>();
  private owned = new Set<string>();
  /** Trunks whose state this instance exports as metrics. */
  private reported = new Set<string>();
  private readonly self: SelfRegistrations;

  constructor(private readonly deps: SupervisorDeps) {
    this.self = new SelfRegistrations({
      relay: deps.relay,
      contactAddr: deps.contactAddr,
      retryBaseSeconds: deps.retryBaseSeconds,
      retryMaxSeconds: deps.retryMaxSeconds,
      logger: deps.logger,
    });
  }

  async poll(): Promise<void> {
    const { rpc } = this.deps;
    const wanted = await loadWantedRegistrations(this.deps.db, this.deps.box);
    const active = wanted.filter((w) => w.active);
    this.owned = await this.deps.ownership.claim(active.map((w) => w.id));
    const mine = active.filter((w) => this.owned.has(w.id));
    let records: UacRecord[];
    let replies: Map<string, LastReply>;
    try {
      records = await dumpRegistrations(rpc);
      replies = await lastReplies(rpc);
      edgeUp.set(1);
    } catch (error) {
      edgeUp.set(0);
      this.deps.logger.warn({ err: error }, 'sip edge unreachable: registrations not checked');
      return;
    }
    const byUac = mine.filter((w) => w.algorithm === 'MD5');
    const bySelf = mine.filter((w) => w.algorithm !== 'MD5');
    const byId = new Map(records.map((r) => [r.l_uuid, r]));
    for (const record of records) {
      if (!byUac.some((w) => w.id === record.l_uuid))
        await rpc.call('uac.reg_remove', [record.l_uuid]);
    }
    for (const w of byUac) await this.keep(w, byId.get(w.id), replies.get(addressOfRecord(w)));
    const selfStates = this.self.keep(bySelf);
    for (const w of bySelf) await this.keepSelf(w, selfStates.get(w.id)!);
    const disabled = wanted.filter((x) => !x.active);
    for (const w of disabled) await this.record(w, 'disabled', null);
    const current = new Set([...mine, ...disabled].map((w) => w.slug));
    for (const slug of this.reported) if (!current.has(slug)) setRegistrationState(slug, null);
    this.reported = current;
    await this.syncProviders(mine);
    await this.readEdgeStats();
  }

  private async keep(w: WantedRegistration, record: UacRecord | undefined, reply?: LastReply) {
    const { rpc } = this.deps;
    const mem = this.memoryOf(w.id);
    if (record && !recordMatches(record, w)) {
      await rpc.call('uac.reg_remove', [w.id]);
      record = undefined;
      Object.assign(mem, { failures: 0, counted: false, nextAttemptAt: null });
    }
    if (!record) {
      await rpc.call('uac.reg_add', regAddParams(w, this.deps.contactAddr));
      await this.record(w, 'registering', null);
      return;
    }
    const live = liveState(record);
    // A reply older than this record belongs to an earlier edge run or configuration.
    const current = reply && reply.at >= record.reg_init ? reply : undefined;
    if (live === 'registered') {
      Object.assign(mem, { failures: 0, counted: false, nextAttemptAt: null });
      const expiresAt = new Date(Date.now() + record.diff_expires * 1000);
      await this.record(w, 'registered', current ?? null, expiresAt);
      return;
    }
    if (live === 'registering') {
      await this.record(w, mem.failures > 0 ? 'failing' : 'registering', current ?? null);
      return;
    }
    if (!mem.counted) {
      mem.failures += 1;
      mem.counted = true;
      const delay = jitteredExponential(
        mem.failures,
        this.deps.retryBaseSeconds,
        this.deps.retryMaxSeconds,
      );
      mem.nextAttemptAt = new Date(Date.now() + delay * 1000);
      const code = current?.code && current.code >= 300 ? current.code : 408;
      registrationFailures.inc({ trunk_id: w.slug, code: String(code) });
    }
    if (mem.nextAttemptAt && mem.nextAttemptAt.getTime() <= Date.now()) {
      mem.counted = false;
      mem.nextAttemptAt = null;
      await rpc.call('uac.reg_enable', ['l_uuid', w.id]);
    }
    const failure =
      current && current.code >= 300 ? current : { code: 408, reason: 'No answer', at: 0 };
    await this.record(w, 'failing', failure);
  }

  /** A registration the gateway makes itself: its client keeps the state; this records it. */
  private async keepSelf(w: WantedRegistration, s: SelfRegistrationState) {
    Object.assign(this.memoryOf(w.id), { failures: s.failures, nextAttemptAt: s.nextAttemptAt });
    await this.record(w, s.state, s.reply, s.expiresAt);
  }

  private memoryOf(id: string): Memory {
    let mem = this.memory.get(id);
    if (!mem) {
      mem = { failures: 0, counted: false, nextAttemptAt: null, state: null, lastCode: null };
      this.memory.set(id, mem);
    }
    return mem;
  }

  /** Stores the state; a change into "failing" (or to another failure code) is published. */
  private async record(
    w: WantedRegistration,
    state: RegistrationState,
    reply: LastReply | null,
    expiresAt: Date | null = null,
  ): Promise<void> {
    const mem = this.memoryOf(w.id);
    const now = new Date();
    const values = {
      state,
      lastCode: reply?.code ?? null,
      lastReason: reply?.reason ?? null,
      lastResponseAt: reply?.at ? new Date(reply.at * 1000) : null,
      expiresAt,
      failures: mem.failures,
      nextAttemptAt: mem.nextAttemptAt,
      instance: this.deps.instanceId,
      updatedAt: now,
    };
    const registeredAt = state === 'registered' && mem.state !== 'registered' ? now : undefined;
    await this.deps.db
      .insertInto('trunkRegistrations')
      .values({ trunkId: w.id, ...values, registeredAt: registeredAt ?? null })
      .onConflict((oc) =>
        oc.column('trunkId').doUpdateSet({ ...values, ...(registeredAt ? { registeredAt } : {}) }),
      )
      .execute();
    setRegistrationState(w.slug, state);
    const newFailure =
      state === 'failing' &&
      reply !== null &&
      (mem.state !== 'failing' || mem.lastCode !== reply.code);
    // A retry in flight ("failing" with no new reply) keeps the code: one event per new failure.
    if (state !== 'failing' || reply) mem.state = state;
    if (state === 'registered') mem.lastCode = null;
    else if (reply && state === 'failing') mem.lastCode = reply.code;
    if (!newFailure) return;
    const meaning = explainRegisterResponse(reply.code, reply.reason);
    this.deps.logger.warn(
      { trunk_id: w.slug, code: reply.code, failures: mem.failures },
      'trunk registration failed',
    );
    await publish(this.deps.db, 'trunk.registration_failed', {
      trunk_id: w.slug,
      id: w.id,
      last_code: reply.code,
      last_reason: reply.reason,
      cause: meaning.cause,
      fix: meaning.fix,
      failures: mem.failures,
      next_attempt_at: mem.nextAttemptAt?.toISOString() ?? null,
    });
    this.deps.kickWebhooks?.();
  }

  /** Calls to registration contacts are accepted only from these source addresses. */
  private async syncProviders(mine: WantedRegistration[]): Promise<void> {
    const { rpc } = this.deps;
    const wanted = await providerAddresses(mine);
    const present = await dumpHtable(rpc, 'provider');
    for (const ip of wanted)
      if (!present.has(ip)) await rpc.call('htable.seti', ['provider', ip, 1]);
    for (const ip of present.keys())
      if (!wanted.has(ip)) await rpc.call('htable.delete', ['provider', ip]);
    const networks = providerNetworks(mine);
    const presentNetworks = await dumpHtable(rpc, 'providernet');
    for (const net of networks)
      if (!presentNetworks.has(net)) await rpc.call('htable.seti', ['providernet', net, 1]);
    for (const net of presentNetworks.keys())
      if (!networks.has(net)) await rpc.call('htable.delete', ['providernet', net]);
  }

  private async readEdgeStats(): Promise<void> {
    const { rpc } = this.deps;
    for (const [kind, value] of await dumpHtable(rpc, 'edgestats'))
      edgeEvents.set({ kind }, Number(value));
    edgeActive.set({ kind: 'banned_sources' }, (await dumpHtable(rpc, 'ipban')).size);
    edgeActive.set({ kind: 'locked_users' }, (await dumpHtable(rpc, 'authlock')).size);
    const sl = await rpc.call<unknown>('stats.get_statistics', ['sl:']);
    const tmx = await rpc.call<unknown>('stats.get_statistics', ['tmx:']);
    setEdgeSipStats(new Map([...parseKamailioStats(sl), ...parseKamailioStats(tmx)]));
  }

  /** Removes this instance's registrations from the edge and lets go of the trunks. */
  async release(): Promise<void> {
    await this.self.release();
    for (const id of this.owned)
      await this.deps.rpc.call('uac.reg_remove', [id]).catch(() => undefined);
    this.owned.clear();
    await this.deps.ownership.close();
  }
}
