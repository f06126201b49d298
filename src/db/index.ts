import { PrismaPg } from '@prisma/adapter-pg';
import type { GatewayConfig } from '../config/index.js';
import { startEmbeddedPostgres } from './embedded.js';
import { PrismaClient } from './generated/client.js';
import { migrate } from './migrate.js';

export * from './generated/client.js';
export { migrate, MigrationError } from './migrate.js';
export { SecretBox, loadEncryptionKey } from './secret-box.js';

export interface Database {
  prisma: PrismaClient;
  kind: 'postgres' | 'embedded';
  url: string;
  close(): Promise<void>;
}

/**
 * Opens the database named by DATABASE_URL, or the embedded one under the data folder, and
 * brings its schema up to date before returning.
 */
export async function openDatabase(
  config: Pick<GatewayConfig, 'databaseUrl' | 'dataDir'>,
): Promise<Database> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir);
  const url = config.databaseUrl ?? embedded!.url;
  try {
    await migrate(url);
  } catch (error) {
    await embedded?.close();
    throw error;
  }
  const adapter = new PrismaPg({ connectionString: url, max: embedded ? 4 : 10 });
  const prisma = new PrismaClient({ adapter });
  return {
    prisma,
    kind: embedded ? 'embedded' : 'postgres',
    url,
    async close() {
      await prisma.$disconnect();
      await embedded?.close();
    },
  };
}
