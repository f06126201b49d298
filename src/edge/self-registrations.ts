import { jitteredExponential } from '../kernel/backoff.js';
import type { Logger } from '../kernel/logger.js';
import type { DigestAlgorithm } from './digest.js';
import type { LastReply } from './edge-state.js';
import { contactPrefix } from './kamailio-config.js';
import { registrationFailures } from './metrics.js';
import type { RegistrationState } from './metrics.js';
import type { WantedRegistration } from './registrations.js';
import { RegisterClient, type RegisterOutcome } from './sip-register.js';

/** RFC 3261 Timer F: a REGISTER nobody answers (not even the edge's 408) has failed. */
const TRANSACTION_TIMEOUT_MS = 32_000;

export interface SelfRegistrationState {
  state: Exclude<RegistrationState, 'disabled'>;
  reply: LastReply | null;
  expiresAt: Date | null;
  failures: number;
  nextAttemptAt: Date | null;
}

interface Entry extends SelfRegistrationState {
  fingerprint: string;
  client: RegisterClient;
  inFlight: boolean;
  refreshAt: number;
  slug: string;
}

export interface SelfRegistrationDeps {
  /** The edge's relay socket (its JSON-RPC address, over UDP). */
  relay: { host: string; port: number; token?: string };
  contactAddr: string;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  logger: Logger;
}

const fingerprint = (w: WantedRegistration) =>
  JSON.stringify([w.registrar, w.username, w.password, w.realm, w.expiry, w.algorithm, w.slug]);

/**
 * The registrations the gateway makes itself: for registrars that challenge with a digest
 * algorithm the edge's uac module cannot answer. Each REGISTER is relayed by the edge. Refreshed
 * at half the granted expiry; failures back off like the edge's (base, doubling, up to max).
 */
export class SelfRegistrations {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly deps: SelfRegistrationDeps) {}

  /** Brings the registrations to `wanted` and returns where each stands now. */
  keep(wanted: WantedRegistration[]): Map<string, SelfRegistrationState> {
    const now = Date.now();
    const ids = new Set(wanted.map((w) => w.id));
    for (const [id, entry] of this.entries) {
      if (!ids.has(id)) this.drop(id, entry);
    }
    for (const w of wanted) {
      let entry = this.entries.get(w.id);
      if (entry && entry.fingerprint !== fingerprint(w)) {
        this.drop(w.id, entry);
        entry = undefined;
      }
      if (!entry) {
        entry = this.create(w);
        this.attempt(w, entry);
        continue;
      }
      if (entry.inFlight) continue;
      if (entry.state === 'registered' && now >= entry.refreshAt) this.attempt(w, entry);
      else if (entry.state === 'failing' && entry.nextAttemptAt && now >= +entry.nextAttemptAt) {
        this.attempt(w, entry);
      }
    }
    return new Map([...this.entries].map(([id, e]) => [id, this.view(e)]));
  }

  /** Unregisters everything (Expires: 0), best effort: the gateway is stopping. */
  async release(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.client.register(0).catch(() => undefined)));
  }

  private view(e: Entry): SelfRegistrationState {
    const { state, reply, expiresAt, failures, nextAttemptAt } = e;
    return { state, reply, expiresAt, failures, nextAttemptAt };
  }

  private create(w: WantedRegistration): Entry {
    const client = new RegisterClient(
      {
        registrar: w.registrar,
        username: w.username,
        password: w.password,
        contact: `sip:${contactPrefix}${w.slug}@${this.deps.contactAddr}`,
        algorithm: w.algorithm as DigestAlgorithm,
        transport: w.transport,
      },
      this.deps.relay,
      TRANSACTION_TIMEOUT_MS,
    );
    const entry: Entry = {
      fingerprint: fingerprint(w),
      client,
      inFlight: false,
      refreshAt: 0,
      slug: w.slug,
      state: 'registering',
      reply: null,
      expiresAt: null,
      failures: 0,
      nextAttemptAt: null,
    };
    this.entries.set(w.id, entry);
    return entry;
  }

  private drop(id: string, entry: Entry) {
    this.entries.delete(id);
    if (entry.state === 'registered') void entry.client.register(0).catch(() => undefined);
  }

  private attempt(w: WantedRegistration, entry: Entry) {
    entry.inFlight = true;
    entry.client
      .register(w.expiry)
      .catch((error: unknown): RegisterOutcome => ({
        code: 503,
        reason: `cannot send to the edge: ${(error as Error).message}`,
      }))
      .then((outcome) => this.settle(entry, outcome))
      .finally(() => (entry.inFlight = false));
  }

  private settle(entry: Entry, outcome: RegisterOutcome) {
    const now = Date.now();
    entry.reply = { code: outcome.code, reason: outcome.reason, at: Math.floor(now / 1000) };
    if (outcome.code >= 200 && outcome.code < 300 && outcome.expires) {
      Object.assign(entry, {
        state: 'registered',
        expiresAt: new Date(now + outcome.expires * 1000),
        refreshAt: now + Math.max(5, outcome.expires / 2) * 1000,
        failures: 0,
        nextAttemptAt: null,
      });
      return;
    }
    entry.failures += 1;
    entry.state = 'failing';
    entry.expiresAt = null;
    const delay = jitteredExponential(
      entry.failures,
      this.deps.retryBaseSeconds,
      this.deps.retryMaxSeconds,
    );
    entry.nextAttemptAt = new Date(now + delay * 1000);
    registrationFailures.inc({ trunk_id: entry.slug, code: String(outcome.code) });
    this.deps.logger.warn(
      { trunk_id: entry.slug, code: outcome.code, offered: outcome.offered },
      'gateway registration attempt failed',
    );
  }
}
