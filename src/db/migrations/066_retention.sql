-- Retention (npm run retention, docs/deployment.md): when a closed case's personal data
-- was removed from the read model. NULL = not yet. The partial index finds the cases due
-- (closed long enough ago, not yet done) without reading the others.
ALTER TABLE cases ADD COLUMN personal_data_removed_at timestamptz;
CREATE INDEX cases_retention_due_idx ON cases (closed_at, id)
  WHERE personal_data_removed_at IS NULL AND closed_at IS NOT NULL;
