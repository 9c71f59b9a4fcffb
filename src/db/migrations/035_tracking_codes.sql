-- Tracking codes (网上查询): one random, unguessable code per case, of any case type, written
-- by the API at intake. A case keeps its code: a repeated (idempotent) intake finds it again.
CREATE TABLE tracking_codes (
  code       text PRIMARY KEY,
  case_id    text NOT NULL UNIQUE,
  case_type  text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
