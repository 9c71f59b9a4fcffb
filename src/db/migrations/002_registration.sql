-- Certificate numbers of registration cases (吉(2026)辽源市不动产权第0001234号): one sequence
-- for every number ever issued, and one row per case so a retried issuing activity gets
-- back the number it drew instead of a second one.
CREATE SEQUENCE registration_certificate_seq START WITH 1 NO CYCLE;

CREATE TABLE registration_certificates (
  case_id    text PRIMARY KEY,
  year       integer NOT NULL,
  sequence   bigint NOT NULL UNIQUE,
  issued_at  timestamptz NOT NULL DEFAULT now()
);

