export { statusRouter, type StatusDeps } from './routes.js';
