-- Care plans (一人一策, docs/care-plans.md). A plan's row is an ordinary `cases` row (type
-- care_plan); its visits live here, one row per (plan, visit), written by the plan's
-- workflow through an activity. A plan runs for years and continues as new every few dozen
-- visits, so this table (not workflow history) is where its visits are kept.
CREATE TABLE care_plan_visits (
  case_id          text NOT NULL,
  visit_id         text NOT NULL,
  visit_no         integer NOT NULL,
  partner_id       text NOT NULL,
  -- the plan's community, copied so reports and scope checks read one table
  community        text NOT NULL,
  due_at           timestamptz NOT NULL,
  status           text NOT NULL CHECK (status IN ('scheduled', 'in_progress', 'completed', 'missed', 'cancelled')),
  late             boolean NOT NULL DEFAULT false,
  planned_services text[] NOT NULL DEFAULT '{}',
  -- the facts of electronic visit verification: carer, place, start, end, services
  check_in_at      timestamptz,
  check_out_at     timestamptz,
  carer            text,
  location         jsonb,
  services         text[],
  note             text,
  duration_ms      bigint CHECK (duration_ms >= 0),
  cancel_reason    text,
  -- monotonic over the plan's whole life (every run): an older write never overwrites a newer one
  rev              integer NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, visit_id)
);

-- GET /v1/care-plans/{id}/visits: newest first, keyset on (due_at, visit_no).
CREATE INDEX care_plan_visits_plan_due_idx ON care_plan_visits (case_id, due_at DESC, visit_no DESC);
-- GET /v1/partners/me/visits: a partner's roster over a time window.
CREATE INDEX care_plan_visits_partner_due_idx ON care_plan_visits (partner_id, due_at, case_id, visit_no);
-- GET /v1/reports/care-hours: visits due in [from, to), limited to communities; the measures
-- are in the index, so the report never visits the table.
CREATE INDEX care_plan_visits_community_due_idx ON care_plan_visits (community, due_at)
  INCLUDE (case_id, partner_id, status, late, duration_ms);
CREATE INDEX care_plan_visits_due_idx ON care_plan_visits (due_at)
  INCLUDE (case_id, partner_id, community, status, late, duration_ms);
