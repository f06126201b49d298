// Loaded with node --import: prints every module URL the process resolved, then exits.
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const seen = new Set();
port1.on('message', (url) => seen.add(url));
port1.unref();
register(
  'data:text/javascript,' +
    encodeURIComponent(`
let port;
export function initialize(data) { port = data.port; }
export async function resolve(spec, ctx, next) { const r = await next(spec, ctx); port.postMessage(r.url); return r; }
`),
  { data: { port: port2 }, transferList: [port2] },
);
setTimeout(
  () => {
    console.log('IMPORTS ' + JSON.stringify([...seen]));
    process.exit(0);
  },
  Number(process.env.IMPORT_LOG_MS ?? 8000),
);
