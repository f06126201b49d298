/**
 * What the call hosts and the API say to each other, and nothing more: the schemas both sides
 * import. The hosts import this, never the API's areas, so their module graph stays free of
 * Express, BullMQ, the database and the S3 SDK (test/call-host-lean.test.ts checks it).
 */
import { z } from 'zod';

export { recordingReportSchema, type RecordingReport } from '../recordings/metadata.js';
export { recordingSettingsSchema, type RecordingSettings } from '../recordings/settings.js';
export { oggOpusDuration } from '../recordings/ogg.js';

/**
 * Every error the API answers with (src/http-kit/errors.ts): a code from src/errors/catalogue.ts, a
 * readable message, and whether the same request may succeed later unchanged.
 */
export const apiErrorBodySchema = z
  .object({ error: z.string(), message: z.string(), retryable: z.boolean().optional() })
  .passthrough();
export type ApiErrorBody = z.infer<typeof apiErrorBodySchema>;

/** The token the call hosts sign their calls to the API with. */
export { signAgentToken, verifyAgentToken } from './agent-token.js';

/** The call report, the transcript and the agent's transfer request (the /internal/agent bodies). */
export * from './call-report.js';

/** A call's place under the concurrency limits (the queue). */
export * from './admission.js';

/** RFC 3261 grammar for what the API stores and the hosts dial: user parts, realms, sip: targets. */
export * from './sip-grammar.js';

/** Which agent profile answers an inbound call: the called number's, else the rule's. */
export * from './call-profile.js';

/** The call hosts' beats: which hosts are up, what they run. */
export * from './host-beat.js';

/** A menu's webhook action, made by the API for the host. */
export * from './ivr-webhook.js';
