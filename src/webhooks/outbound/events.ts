/** Event types customers can subscribe to. */
export const webhookEventTypes = [
  'call.started',
  'call.answered',
  'call.ended',
  'call.transcript',
  'call.transfer',
  'call.forwarded',
  'call.hold',
  'call.resume',
  'call.recording_ready',
  'call.machine_detection',
  'call.blocked',
  'sms.received',
  'sms.sent',
  'sms.delivered',
  'sms.failed',
  'trunk.sync_failed',
  'trunk.registration_failed',
  'agent.error',
  'endpoint.disabled',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];
