/**
 * After a restore: the certificate sequence is moved past every number already issued, so
 * no two cases share a certificate (migration 065, src/db/sequences.ts, docs/deployment.md).
 * Against the run's real Postgres; the sequence is shared, so every test leaves it ahead.
 */
import { randomUUID } from 'node:crypto';
import { createActivities } from '../../src/activities';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { formatCertificateNo } from '../../src/domain/registration';

const pool = createPool(process.env.DATABASE_URL!, 2);
afterAll(async () => { await pool.end(); });
const { issueCertificateNumber } = createActivities({ pool });

/** What a restore from an older backup does to the sequence: it stands where it stood then. */
async function restoreSequenceTo(value: number): Promise<void> {
  await pool.query("SELECT setval('registration_certificate_seq', $1, false)", [value]);
}

describe('the certificate sequence after a restore', () => {
  it('is set past the highest number issued at start-up, so the next number is fresh', async () => {
    const issued = [];
    for (let i = 0; i < 3; i++) issued.push(await issueCertificateNumber({ caseId: randomUUID(), year: 2026 }));
    const highest = Math.max(...issued.map((c) => c.sequence));
    await restoreSequenceTo(issued[0].sequence);

    await migrate(pool); // what every process does at start-up

    const next = await issueCertificateNumber({ caseId: randomUUID(), year: 2026 });
    expect(next.sequence).toBe(highest + 1);
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM registration_certificates WHERE sequence = $1', [next.sequence]);
    expect(Number(rows[0].n)).toBe(1);
  });

  it('counts numbers the read model holds although their certificate rows were lost (recovered from history)', async () => {
    const before = await issueCertificateNumber({ caseId: randomUUID(), year: 2026 });
    // A case certified after the backup: reconcile rewrote its row from Temporal history, but
    // registration_certificates came back without it.
    const lost = before.sequence + 40;
    const caseId = randomUUID();
    await pool.query(
      `INSERT INTO cases (id, type, workflow_id, status, details, created_at, last_seq)
       VALUES ($1, 'registration', $2, 'certified', $3, now(), 1)`,
      [caseId, `registration:${caseId}`, JSON.stringify({ certificateNo: formatCertificateNo(2026, lost) })],
    );
    await restoreSequenceTo(before.sequence);

    await migrate(pool);

    expect((await issueCertificateNumber({ caseId: randomUUID(), year: 2026 })).sequence).toBe(lost + 1);
    await pool.query('DELETE FROM cases WHERE id = $1', [caseId]);
  });

  it('never moves the sequence back', async () => {
    const drawn = await issueCertificateNumber({ caseId: randomUUID(), year: 2026 });
    await pool.query("SELECT setval('registration_certificate_seq', $1, true)", [drawn.sequence + 100]);
    await migrate(pool);
    expect((await issueCertificateNumber({ caseId: randomUUID(), year: 2026 })).sequence).toBe(drawn.sequence + 101);
  });
});
