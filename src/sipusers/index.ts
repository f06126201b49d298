export { sipUsersRouter } from './routes.js';
export { sipUsersEdgeTask, lookupContacts, lockState, USER_FAIL_TABLE } from './edge-sync.js';
export { findSipUser } from './store.js';
export { digestHa1s } from './ha1.js';
export type { SipUsersDeps } from './deps.js';
export { syncSipUsersLivekit, SIP_USER_ATTRIBUTE } from './livekit-sync.js';
export { sipUserDialer, type SipUserDialer } from './dialer.js';
