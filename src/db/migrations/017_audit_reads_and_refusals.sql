-- The audit log also holds reads of personal data and requests refused before any handler
-- (413, 415, 429, malformed JSON), and says when the client went away before its answer.
ALTER TABLE audit_log ADD COLUMN kind text NOT NULL DEFAULT 'write' CHECK (kind IN ('write', 'read', 'refused'));
ALTER TABLE audit_log ADD COLUMN client_aborted boolean NOT NULL DEFAULT false;
