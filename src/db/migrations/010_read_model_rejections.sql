-- Read-model writes Postgres refused with a data error (SQLSTATE class 22): the activity
-- gives up on them rather than retry for ever, and leaves a row here so `npm run reconcile`
-- reports the case (exit status 3) until its events are stored after all.
CREATE TABLE IF NOT EXISTS read_model_rejections (
  case_id text NOT NULL,
  -- from the refused snapshot: the case row may not exist (its first batch was refused)
  community text,
  first_seq integer NOT NULL,
  last_seq integer NOT NULL,
  sqlstate text NOT NULL,
  message text NOT NULL,
  attempts integer NOT NULL DEFAULT 1,
  first_at timestamptz NOT NULL DEFAULT now(),
  last_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, first_seq, last_seq)
);
