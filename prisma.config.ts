import path from 'node:path';
import { defineConfig } from 'prisma/config';

// Prisma 6.19 runs its CLI on the bundled WebAssembly schema engine when a driver adapter is
// configured, so `prisma generate` and `prisma migrate diff` work without downloading an engine.
export default defineConfig({
  schema: path.join('prisma', 'schema.prisma'),
  experimental: { adapter: true },
  engine: 'js',
  async adapter() {
    const { PrismaPg } = await import('@prisma/adapter-pg');
    return new PrismaPg({
      connectionString: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    });
  },
});
