/** The statuses of a call still going: its record is not yet ended, failed or blocked. */
export const OPEN_CALL_STATUSES = ['ringing', 'active'] as const;

export type OpenCallStatus = (typeof OPEN_CALL_STATUSES)[number];

/** Whether a call with this status is still going (ringing or answered). */
export function isOpenCallStatus(status: string): status is OpenCallStatus {
  return (OPEN_CALL_STATUSES as readonly string[]).includes(status);
}
