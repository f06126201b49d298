import type { Selectable } from 'kysely';
import type { SipUser as SipUserTable } from '../db/generated/kysely.js';

export type SipUser = Selectable<SipUserTable>;

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** One registered contact, as the edge's usrloc holds it. */
export interface SipContact {
  contact: string;
  /** Where the REGISTER came from (the NAT's public side): calls to the user go there. */
  source: string | null;
  transport: string | null;
  user_agent: string | null;
  expires_at: string;
}

/** The API's view of a SIP user: never a password or HA1, only that credentials are set. */
export function serializeSipUser(u: SipUser) {
  return {
    id: u.id,
    username: u.username,
    display_name: u.displayName,
    realm: u.realm,
    is_active: u.isActive,
    is_blocked: u.isBlocked,
    max_concurrent_calls: u.maxConcurrentCalls,
    call_recording_enabled: u.callRecordingEnabled,
    sms_enabled: u.smsEnabled,
    agent_profile_id: u.agentProfileId,
    has_password: Boolean(u.ha1Md5Enc && u.ha1Sha256Enc),
    total_calls: u.totalCalls,
    total_minutes: u.totalMinutes,
    total_sms: u.totalSms,
    failed_auth_attempts: u.failedAuthAttempts,
    account_locked_until: iso(u.accountLockedUntil),
    user_agent: u.userAgent,
    last_registration: iso(u.lastRegistration),
    registration_expires: iso(u.registrationExpires),
    last_seen: iso(u.lastSeen),
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  };
}

export type SipUserView = ReturnType<typeof serializeSipUser>;
