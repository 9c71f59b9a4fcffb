import type { RequestHandler } from 'express';
import type { Pool } from 'pg';
import type { Logger } from '../logger';
import type { Principal } from './auth';

/** Every state-changing request, whoever made it and however it ended, goes to the append-only audit log. */
export function auditMiddleware(pool: Pool, log: Logger): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    res.on('finish', () => {
      const p = res.locals.principal as Principal | undefined;
      const caseId = (res.locals.caseId as string | undefined) ?? null;
      pool.query(
        'INSERT INTO audit_log (key_id, role, method, path, case_id, status) VALUES ($1, $2, $3, $4, $5, $6)',
        [p?.keyId ?? null, p?.role ?? null, req.method, req.path, caseId, res.statusCode],
      ).catch((err: Error) => log.warn({ err: err.message, method: req.method, path: req.path }, 'audit write failed'));
    });
    next();
  };
}
