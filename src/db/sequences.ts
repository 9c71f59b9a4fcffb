/**
 * Sequences that must never hand out a number already issued, realigned at every start-up
 * (after the migrations) and after `npm run reconcile`, so a database restored from an
 * older backup cannot issue a second case the same certificate number. docs/deployment.md.
 */
import type { Pool, PoolClient } from 'pg';

/** The highest certificate sequence number now counted as issued (the next one drawn is above it). */
export async function alignCertificateSequence(db: Pool | PoolClient): Promise<number> {
  const { rows } = await db.query<{ issued: string }>('SELECT align_registration_certificate_seq() AS issued');
  return Number(rows[0].issued);
}
