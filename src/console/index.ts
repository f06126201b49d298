import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { packageRoot } from '../config/paths.js';

/** Where `npm run build:console` (vite) writes the operator console. */
export const consoleBuildDir = () => path.join(packageRoot(), 'dist', 'console');

/**
 * The console's policy: its own scripts, styles and API only. No inline script or style, no
 * CDN, no frames; recordings play from blob: URLs the page fetched with its key.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * /console: the operator console's static files (console/, built by vite) under a strict
 * Content-Security-Policy. Everything the page shows it reads from the public API with the
 * key it was given; the server adds nothing for it.
 */
export function consoleRouter(): Router {
  const r = Router();
  const dir = consoleBuildDir();
  r.use('/console', (_req, res, next) => {
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });
  r.get('/console', (req, res, next) => {
    // Relative asset URLs resolve under /console/ only with the slash.
    if (req.originalUrl === '/console') return res.redirect(301, '/console/');
    next();
  });
  r.use('/console', (req, res, next) => {
    if (existsSync(path.join(dir, 'index.html'))) return next();
    res
      .status(503)
      .type('text/plain')
      .send('The console is not built: run `npm run build:console` (npm run build does too).\n');
  });
  r.use(
    '/console',
    express.static(dir, {
      index: 'index.html',
      setHeaders: (res, file) => {
        // Hashed asset names never change; the page itself is looked at again each time.
        res.setHeader(
          'Cache-Control',
          file.includes(`${path.sep}assets${path.sep}`)
            ? 'public, max-age=31536000, immutable'
            : 'no-cache',
        );
      },
    }),
  );
  return r;
}
