/**
 * The only request bodies besides JSON: CSV and .xlsx on the two import routes, and
 * form-encoded Open311 posts. Each parser is mounted on its paths alone; everywhere else a
 * non-JSON write is still refused with 415.
 */
import express, { type Request, type RequestHandler } from 'express';
import { HttpProblem } from '../api/problem';
import { CSV_TYPE, MAX_UPLOAD_BYTES, XLSX_TYPE } from './spreadsheet';

const IMPORT_PATH = /^\/v1\/imports\/(service-requests|partners)$/;
const OPEN311_POST = /^\/open311\/v2\/requests\.[a-z]+$/;

export function intakeBodies(): RequestHandler {
  const raw = express.raw({ type: [CSV_TYPE, 'application/csv', XLSX_TYPE], limit: MAX_UPLOAD_BYTES });
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 100 });
  return (req, res, next) => {
    if (req.method !== 'POST') return next();
    const parser = IMPORT_PATH.test(req.path) ? raw : OPEN311_POST.test(req.path) ? form : null;
    if (!parser) return next();
    parser(req, res, (err?: unknown) => {
      const e = err as { type?: string } | undefined;
      if (e?.type === 'entity.too.large' && parser === raw) return next(new HttpProblem(413, 'Payload too large', `the file is over ${MAX_UPLOAD_BYTES / 1024 / 1024} MB; split it`));
      next(err);
    });
  };
}

/** Whether this write's body was taken by one of the parsers above (so the JSON-only rule does not apply). */
export function isIntakeBody(req: Request): boolean {
  if (IMPORT_PATH.test(req.path)) return Buffer.isBuffer(req.body);
  return OPEN311_POST.test(req.path) && Boolean(req.is('application/x-www-form-urlencoded'));
}
