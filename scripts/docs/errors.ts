/**
 * docs/errors.md, rendered from the error catalogue (src/errors/catalogue.ts) and formatted as
 * prettier formats it. `npm run docs:errors` writes it; test/unit/error-catalogue.test.ts checks
 * the file against it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { packageRoot } from '../../src/config/paths.js';
import { renderErrorsDoc } from '../../src/errors/doc.js';

export const errorsDocFile = path.join(packageRoot(), 'docs/errors.md');

export async function formattedErrorsDoc(): Promise<string> {
  const options = (await prettier.resolveConfig(errorsDocFile)) ?? {};
  return prettier.format(renderErrorsDoc(), { ...options, filepath: errorsDocFile });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(errorsDocFile, await formattedErrorsDoc());
}
