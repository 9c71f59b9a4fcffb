-- Idempotent intake no longer reserves case ids in Postgres: a request with an
-- Idempotency-Key opens the case whose id is derived from the API key and that key, and
-- Temporal refuses a second workflow with the same id (src/api/caseIntake.ts). One
-- database round trip fewer per intake (BENCHMARKS.md).
DROP TABLE IF EXISTS idempotency_keys;
