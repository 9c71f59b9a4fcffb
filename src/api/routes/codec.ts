/**
 * Temporal's remote codec protocol, so the Web UI and the CLI (`--codec-endpoint`) can show
 * decrypted payloads to operators: `POST /codec/decode` and `/codec/encode` take and answer
 * `{ "payloads": [{ "metadata": { k: base64 }, "data": base64 }] }` (proto3 JSON).
 * Admins and supervisors whose keys are not limited to communities; a browser authenticates with the session cookie of
 * /codec/login (see codecSession.ts), the CLI with `--codec-auth "Bearer <key>"`.
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Payload } from '@temporalio/common';
import { type AesGcmPayloadCodec, PayloadDecryptionError, payloadCodecFor } from '../../temporal/codec';
import { CODEC_SESSION_COOKIE, CODEC_SESSION_SECONDS, createCodecSessions } from '../codecSession';
import type { Principal } from '../auth';
import type { ApiDeps } from '../deps';
import { badRequest, forbidden, HttpProblem, sendProblem } from '../problem';
import type { ApiRoutes } from '../routing';
import { EmptyBody } from '../schemas';
import { z } from '../zod';

const base64 = z.string().max(4_000_000).regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');

const JsonPayload = z.object({
  metadata: z.record(z.string().max(200), base64).nullish(),
  data: base64.nullish(),
}).openapi('CodecPayload');

export const CodecPayloads = z.object({ payloads: z.array(JsonPayload).max(10_000) }).strict().openapi('CodecPayloads');
type JsonPayloadT = z.infer<typeof JsonPayload>;

const fromJson = (p: JsonPayloadT): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

const ALLOWED_HEADERS = 'content-type, x-namespace, authorization';

/**
 * CORS for /codec only: the Web UI calls it from the browser at another origin. Credentials
 * are allowed (the session cookie), so origins are matched exactly, never `*`.
 */
export function codecCors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.header('origin');
    res.vary('Origin');
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (req.method !== 'OPTIONS') return next();
    if (!origin || !allowed.has(origin)) {
      return sendProblem(res, new HttpProblem(403, 'Forbidden', `origin ${origin ?? '(none)'} may not call the codec; add it to TEMPORAL_UI_ORIGIN`));
    }
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}

export function codecRoutes(routes: ApiRoutes, { config, pool }: ApiDeps): void {
  // Built on first use: building the routes (OpenAPI, the role matrix) needs no keys.
  let codec: AesGcmPayloadCodec | null = null;
  const theCodec = () => (codec ??= payloadCodecFor(config));
  const sessions = createCodecSessions({
    pool, adminKeys: config.adminApiKeys,
    secretMaterial: () => {
      theCodec(); // a clear ConfigError when no keys are configured
      return config.payloadEncryptionKeys[0].key;
    },
  });
  // An API key, when sent, wins; otherwise the browser's session cookie.
  const sessionOrKey = async (req: Request) => (req.header('authorization') ? null : sessions.principalFrom(req));

  // Payloads of every community pass through the codec, so a key limited to some may not use it.
  const requireUnscoped = (p: Principal) => {
    if (p.communities) throw forbidden('the codec decrypts the cases of every community: use a key not limited to communities');
  };

  const checkNamespace = (header: string | undefined) => {
    if (header && header !== config.TEMPORAL_NAMESPACE) {
      throw badRequest(`this codec serves namespace ${config.TEMPORAL_NAMESPACE}`, [{ path: 'header.X-Namespace', message: `unknown namespace ${header}` }]);
    }
  };

  for (const direction of ['decode', 'encode'] as const) {
    routes.add({
      // Encoding forges payloads Temporal will trust as ours (signals, inputs): admins only.
      method: 'post', path: `/codec/${direction}`, operationId: direction === 'decode' ? 'decodePayloads' : 'encodePayloads', tag: 'codec', roles: direction === 'decode' ? ['admin', 'supervisor'] : ['admin'], authenticate: sessionOrKey,
      personalData: direction === 'decode',
      summary: direction === 'decode'
        ? 'Decrypt Temporal payloads (remote codec protocol, for the Web UI and `temporal --codec-endpoint`)'
        : 'Encrypt Temporal payloads (remote codec protocol)',
      body: CodecPayloads,
      responses: { 200: { description: `the payloads, ${direction}d`, schema: CodecPayloads } },
      handler: async ({ body, req, principal }) => {
        requireUnscoped(principal);
        checkNamespace(req.header('x-namespace'));
        const input = body.payloads.map(fromJson);
        try {
          const output = direction === 'decode' ? await theCodec().decode(input) : await theCodec().encode(input);
          return { status: 200, body: { payloads: output.map(toJson) }, headers: { 'Cache-Control': 'no-store' } };
        } catch (err) {
          if (err instanceof PayloadDecryptionError) throw badRequest(err.message, [{ path: 'body.payloads', message: err.message }]);
          throw err;
        }
      },
    });
  }

  routes.add({
    method: 'post', path: '/codec/session', operationId: 'createCodecSession', tag: 'codec', roles: ['admin', 'supervisor'],
    summary: 'Sign a browser in to the codec (an HttpOnly cookie for /codec, 8 hours), for the Temporal Web UI',
    body: EmptyBody.optional(),
    responses: { 200: { description: 'signed in', schema: z.object({ expiresAt: z.string() }) } },
    handler: async ({ principal, req }) => {
      requireUnscoped(principal);
      const { cookie, expiresAt } = await sessions.issue(principal, req.header('authorization') ?? '');
      const attributes = ['Path=/codec', 'HttpOnly', 'SameSite=Strict', `Max-Age=${CODEC_SESSION_SECONDS}`, ...(req.secure ? ['Secure'] : [])];
      return {
        status: 200, body: { expiresAt: expiresAt.toISOString() },
        headers: { 'Set-Cookie': `${CODEC_SESSION_COOKIE}=${cookie}; ${attributes.join('; ')}`, 'Cache-Control': 'no-store' },
      };
    },
  });

  routes.add({
    method: 'post', path: '/codec/logout', operationId: 'endCodecSession', tag: 'codec', roles: ['admin', 'supervisor'], authenticate: sessionOrKey,
    summary: 'End this browser\'s codec session now (the cookie stops working everywhere, not only in this browser)',
    body: EmptyBody.optional(),
    responses: { 204: { description: 'signed out (the session, if there was one, is ended)' } },
    handler: async ({ req }) => {
      await sessions.end(req);
      const attributes = ['Path=/codec', 'HttpOnly', 'SameSite=Strict', 'Max-Age=0', ...(req.secure ? ['Secure'] : [])];
      return { status: 204, headers: { 'Set-Cookie': `${CODEC_SESSION_COOKIE}=; ${attributes.join('; ')}`, 'Cache-Control': 'no-store' } };
    },
  });

  routes.add({
    method: 'get', path: '/codec/login', operationId: 'getCodecLoginPage', tag: 'codec', roles: 'public',
    summary: 'A page where an operator pastes an admin or supervisor key to let the Temporal Web UI decrypt payloads',
    responses: { 200: { description: 'an HTML page' } },
    handler: async () => ({
      status: 200, contentType: 'text/html; charset=utf-8', body: LOGIN_PAGE,
      headers: {
        // Only this page's own inline script may run; it may talk only to this origin.
        'Content-Security-Policy': `default-src 'none'; script-src '${LOGIN_SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`,
      },
    }),
  });
}

const LOGIN_SCRIPT = `
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = document.getElementById('out');
  const res = await fetch('session', { method: 'POST', headers: { authorization: 'Bearer ' + document.getElementById('k').value.trim() } });
  document.getElementById('k').value = '';
  out.textContent = res.ok
    ? 'Signed in until ' + (await res.json()).expiresAt + '. In the Temporal Web UI, open the codec settings, set the endpoint to ' + location.origin + '/codec and tick "Include cross-origin credentials".'
    : 'Refused (' + res.status + '): use an admin or supervisor key.';
});`;

const LOGIN_SCRIPT_HASH = `sha256-${createHash('sha256').update(LOGIN_SCRIPT).digest('base64')}`;

const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gongjian codec sign-in</title>
<style>body{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}input{width:100%;padding:.4rem}</style></head>
<body><h1>Decrypt case data in the Temporal Web UI</h1>
<p>Case data in Temporal is encrypted. Paste an <b>admin</b> or <b>supervisor</b> API key to let this browser decrypt it for 8 hours
(the browser keeps only a session cookie, valid for the codec alone, never the key).</p>
<form id="f"><input id="k" type="password" autocomplete="off" placeholder="API key" required> <button>Sign in</button></form>
<p id="out" role="status"></p>
<script>${LOGIN_SCRIPT}</script></body></html>`;
