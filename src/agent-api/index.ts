/**
 * The API's side of the call hosts: the /internal/agent routes they call (src/contract holds
 * the bodies), and a new agent for a call whose host died.
 */
export { agentInternalRouter } from './routes.js';
export { AgentRecovery } from './recovery.js';
export { HostBeats, type SeenHost } from './host-beats.js';
