// The baseline for the webhook ingest benchmark: an Express handler that only parses JSON.
import express from 'express';

const app = express();
app.post('/hook', express.json({ type: () => true, limit: '1mb' }), (req, res) => {
  res.json({ ok: typeof req.body === 'object' });
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
