-- Imports of the needs list (需求清单) and the partner roster from CSV / .xlsx files. The file's
-- SHA-256 per API key and kind makes re-posting the same file find the first import; the
-- case ids are derived from that hash and the row number, so they are known (and stored)
-- before any case is opened, and a resumed import opens none twice.
CREATE TABLE imports (
  id          text PRIMARY KEY,
  key_id      text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('service-requests', 'partners')),
  file_hash   text NOT NULL,
  status      text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  rows        integer NOT NULL,
  created     integer NOT NULL DEFAULT 0,
  case_ids    jsonb NOT NULL DEFAULT '[]',
  error       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (key_id, kind, file_hash)
);
