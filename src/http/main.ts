import { ConfigError } from '../config/index.js';
import { startApi } from './server.js';

try {
  const api = await startApi();
  const shutdown = () => {
    api.logger.info('api shutting down');
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
