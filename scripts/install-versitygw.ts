// scripts/setup.sh: builds the pinned versitygw (the recordings tests' S3 server) into the cache.
import { ensureVersitygw } from './stack/s3-server.js';

const binary = await ensureVersitygw((line) => console.log(line));
console.log(`versitygw:      ${binary}`);
