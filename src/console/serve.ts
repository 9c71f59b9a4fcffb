/**
 * The console, served by the API: /console/ (the app for people with accounts) and /p/{token}
 * (one order, for a partner without an account). Static files built by scripts/build-console.js,
 * under a strict Content-Security-Policy: scripts, styles and connections from this origin only,
 * no inline code, no framing. The HTML shells say which language to start in: ?lang=, else
 * Accept-Language (zh-CN unless English is preferred).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { type Express, type Request, type Response } from 'express';
import { negotiateLocale, parseLocale } from '../i18n';

/** Built assets: <repo>/dist/console-web, whether this module runs from src/ (tests) or dist/. */
export const CONSOLE_DIR = resolve(__dirname, '../../dist/console-web');

export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'", "connect-src 'self'",
  "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'", "object-src 'none'",
].join('; ');

function secureHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

export function mountConsole(app: Express): void {
  const shells = new Map<string, string>();
  const shell = (name: 'index.html' | 'order.html') => {
    let html = shells.get(name);
    if (!html) {
      const file = join(CONSOLE_DIR, name);
      if (!existsSync(file)) return null;
      html = readFileSync(file, 'utf8');
      shells.set(name, html);
    }
    return html;
  };
  const sendShell = (name: 'index.html' | 'order.html') => (req: Request, res: Response) => {
    secureHeaders(res);
    const html = shell(name);
    if (!html) {
      res.status(503).type('text/plain; charset=utf-8').send('The console is not built: run `npm run build` (node scripts/build.js).');
      return;
    }
    const locale = parseLocale(typeof req.query.lang === 'string' ? req.query.lang : null) ?? negotiateLocale(req.header('accept-language'), 'zh-CN');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Vary', 'Accept-Language');
    res.type('html').send(html.replace('<html lang="zh-CN">', `<html lang="${locale}">`));
  };

  // Express matches /console and /console/ alike (non-strict routing); assets are absolute, so both work.
  app.get('/console/', sendShell('index.html'));
  app.get('/console/index.html', sendShell('index.html'));
  // Hashed file names: cached for a year; anything else under /console/ is a 404 from here.
  app.use('/console', (_req, res, next) => { secureHeaders(res); next(); },
    express.static(CONSOLE_DIR, { index: false, immutable: true, maxAge: '365d', fallthrough: true }));
  // The token stays in the page's address only: no-store, no referrer; the page asks the API with it.
  app.get('/p/:token', sendShell('order.html'));
}
