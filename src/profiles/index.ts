/** Agent profiles: /api/agents, the profiles that numbers and dispatch rules name. */
export { agentProfilesRouter } from './routes.js';
export { findAgentProfile } from './lookup.js';
