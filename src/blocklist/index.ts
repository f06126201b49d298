export { blocklistRouter, type BlocklistRouteDeps } from './routes.js';
export { blocklistEdgeTask, type BlocklistEdgeDeps } from './edge-sync.js';
