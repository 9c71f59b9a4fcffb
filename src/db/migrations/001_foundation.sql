-- API keys: only a SHA-256 hash of each key is stored; the key itself is shown once.
CREATE TABLE api_keys (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'supervisor', 'staff', 'partner')),
  partner_id    text,
  communities   text[],
  key_hash      text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  revoked_at    timestamptz,
  last_used_at  timestamptz
);

CREATE TABLE partners (
  id                 text PRIMARY KEY,
  name               text NOT NULL,
  kind               text NOT NULL,
  categories         text[] NOT NULL DEFAULT '{}',
  communities        text[] NOT NULL DEFAULT '{}',
  grids              text[] NOT NULL DEFAULT '{}',
  capacity           integer NOT NULL CHECK (capacity >= 0),
  webhook_url        text NOT NULL,
  webhook_secret     text NOT NULL,
  active             boolean NOT NULL DEFAULT true,
  department         text,
  institution        text,
  hours              text,
  last_dispatched_at timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX partners_categories_idx ON partners USING gin (categories);
CREATE INDEX partners_communities_idx ON partners USING gin (communities);

-- The read model: one row per case, written only by workflow activities.
CREATE TABLE cases (
  id                text PRIMARY KEY,
  type              text NOT NULL,
  workflow_id       text NOT NULL,
  status            text NOT NULL,
  category          text,
  urgency           text,
  community         text,
  partner_id        text,
  overdue           boolean NOT NULL DEFAULT false,
  reopen_count      integer NOT NULL DEFAULT 0,
  dispatch_attempts integer NOT NULL DEFAULT 0,
  deadlines         jsonb NOT NULL DEFAULT '{}',
  details           jsonb NOT NULL DEFAULT '{}',
  satisfaction      smallint,
  outcome           text,
  created_at        timestamptz NOT NULL,
  acknowledged_at   timestamptz,
  completed_at      timestamptz,
  closed_at         timestamptz,
  last_seq          integer NOT NULL,
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_created_idx ON cases (created_at DESC, id DESC);
CREATE INDEX cases_partner_status_idx ON cases (partner_id, status);
CREATE INDEX cases_type_status_idx ON cases (type, status, created_at DESC);
CREATE INDEX cases_community_idx ON cases (community, created_at DESC);

-- The append-only business timeline; (case_id, seq) makes replayed writes no-ops.
CREATE TABLE case_events (
  case_id  text NOT NULL,
  seq      integer NOT NULL,
  at       timestamptz NOT NULL,
  type     text NOT NULL,
  actor    text NOT NULL,
  data     jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (case_id, seq)
);

-- Open deadlines of each case, replaced with every snapshot.
CREATE TABLE case_deadlines (
  case_id  text NOT NULL,
  kind     text NOT NULL,
  due_at   timestamptz NOT NULL,
  PRIMARY KEY (case_id, kind)
);
CREATE INDEX case_deadlines_due_idx ON case_deadlines (due_at);

-- Idempotent intake: one case per (api key, Idempotency-Key).
CREATE TABLE idempotency_keys (
  key_id           text NOT NULL,
  idempotency_key  text NOT NULL,
  request_hash     text NOT NULL,
  case_id          text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key_id, idempotency_key)
);

-- Each webhook delivery attempt, written by the delivery activity.
CREATE TABLE webhook_attempts (
  delivery_id  text NOT NULL,
  attempt      integer NOT NULL,
  case_id      text NOT NULL,
  partner_id   text NOT NULL,
  event        text NOT NULL,
  at           timestamptz NOT NULL DEFAULT now(),
  http_status  integer,
  error        text,
  PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX webhook_attempts_case_idx ON webhook_attempts (case_id);

CREATE TABLE sla_policies (
  case_type   text NOT NULL,
  category    text NOT NULL DEFAULT '',
  urgency     text NOT NULL DEFAULT '',
  durations   jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_type, category, urgency)
);

CREATE TABLE audit_log (
  id       bigserial PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  key_id   text,
  role     text,
  method   text NOT NULL,
  path     text NOT NULL,
  case_id  text,
  status   integer NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
