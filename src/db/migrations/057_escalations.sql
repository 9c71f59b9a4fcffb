-- The escalations of every case (逐级督办), written by the read-model activity from the
-- workflow's snapshot (details.escalations), so GET /v1/escalations can list resolved ones
-- too. Guarded by last_seq like the case row: a replayed or older batch changes nothing.
CREATE TABLE escalations (
  case_id          text NOT NULL,
  number           integer NOT NULL,
  case_type        text NOT NULL,
  community        text,
  reason           text NOT NULL,
  level            smallint NOT NULL,
  status           text NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
  since            timestamptz NOT NULL,
  level_since      timestamptz NOT NULL,
  next_level_at    timestamptz,
  acknowledged_by  text,
  acknowledged_at  timestamptz,
  resolved_at      timestamptz,
  last_seq         integer NOT NULL,
  PRIMARY KEY (case_id, number)
);
-- The list's order: highest level first, then oldest.
CREATE INDEX escalations_list_idx ON escalations (level DESC, since, case_id, number);
CREATE INDEX escalations_community_idx ON escalations (community, level DESC, since);

-- Each contact's copy of an escalation.raised webhook: delivered ones are not sent again on a retry.
CREATE TABLE escalation_notifications (
  delivery_id   text NOT NULL,
  contact_id    text NOT NULL,
  case_id       text NOT NULL,
  level         smallint NOT NULL,
  attempts      integer NOT NULL DEFAULT 0,
  http_status   integer,
  error         text,
  delivered_at  timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (delivery_id, contact_id)
);
