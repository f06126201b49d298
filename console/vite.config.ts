import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The operator console: TypeScript and preact (JSX through esbuild), bundled into static files
// the API serves at /console under a strict Content-Security-Policy (src/console).
const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/console/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // No inline polyfill script: the CSP allows scripts from the API's own origin only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
});
