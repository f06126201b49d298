/** The answering participant's identities start so: call records do not take it for a caller. */
export const ANSWERING_IDENTITY_PREFIX = 'vg-forwarding-';
