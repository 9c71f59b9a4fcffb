-- Supervisor views (docs/api.md "Supervisor views", docs/supervision.md): the columns reports
-- aggregate and the indexes the list, timeline, timeouts and summary queries use.
-- Plans were checked with EXPLAIN ANALYZE on 100k cases / 1M events (bench/seed.ts).

-- Report measures, derived from the snapshot's `details` by Postgres itself, so the
-- workflows' batch write stays as it is and old rows get them too. Guarded by jsonb_typeof:
-- a malformed value becomes NULL instead of failing the workflow's write.
ALTER TABLE cases
  -- Seconds from intake to each milestone: the report's medians and p90s sort these, and
  -- a stored float8 sorts faster than an expression over two timestamps. Time to close
  -- counts closed cases only (a cancellation is not a resolution).
  ADD COLUMN ack_seconds float8 GENERATED ALWAYS AS (date_part('epoch', acknowledged_at - created_at)) STORED,
  ADD COLUMN complete_seconds float8 GENERATED ALWAYS AS (date_part('epoch', completed_at - created_at)) STORED,
  ADD COLUMN close_seconds float8 GENERATED ALWAYS AS (
    CASE WHEN status = 'closed' THEN date_part('epoch', closed_at - created_at) END) STORED,
  -- 服务时长: hours the partner reported on completion (service requests).
  ADD COLUMN hours_spent numeric GENERATED ALWAYS AS (
    CASE WHEN jsonb_typeof(details #> '{completion,hoursSpent}') = 'number'
      THEN (details #>> '{completion,hoursSpent}')::numeric END) STORED,
  -- Inside its SLA: a service request never past its fulfilment deadline, a registration
  -- certified within its completion target. NULL when the case does not say.
  ADD COLUMN within_sla boolean GENERATED ALWAYS AS (
    CASE
      WHEN jsonb_typeof(details -> 'withinCompletionTarget') = 'boolean' THEN (details ->> 'withinCompletionTarget')::boolean
      WHEN jsonb_typeof(details -> 'fulfilmentBreached') = 'boolean' THEN NOT (details ->> 'fulfilmentBreached')::boolean
    END) STORED,
  -- Registration: certificate issued on the day of acceptance, and how long it took.
  ADD COLUMN same_day boolean GENERATED ALWAYS AS (
    CASE WHEN jsonb_typeof(details -> 'sameDay') = 'boolean' THEN (details ->> 'sameDay')::boolean END) STORED,
  ADD COLUMN time_to_certificate_ms bigint GENERATED ALWAYS AS (
    CASE WHEN jsonb_typeof(details -> 'timeToCertificateMs') = 'number'
      THEN round((details ->> 'timeToCertificateMs')::numeric)::bigint END) STORED;

-- GET /v1/cases: newest first with keyset pagination on (created_at, id); one index per
-- filter that is selective on its own, each ending in the sort key so Postgres reads a
-- page straight off the index instead of sorting every match.
DROP INDEX IF EXISTS cases_community_idx;
DROP INDEX IF EXISTS cases_type_status_idx;
CREATE INDEX cases_community_created_idx ON cases (community, created_at DESC, id DESC);
-- (cases_partner_status_idx stays: partner matching counts open orders with it.)
CREATE INDEX cases_partner_created_idx ON cases (partner_id, created_at DESC, id DESC);
CREATE INDEX cases_category_created_idx ON cases (category, created_at DESC, id DESC);
CREATE INDEX cases_status_created_idx ON cases (status, created_at DESC, id DESC);
CREATE INDEX cases_type_created_idx ON cases (type, created_at DESC, id DESC);
-- Overdue cases are few: a partial index keeps them one short scan away.
CREATE INDEX cases_overdue_created_idx ON cases (created_at DESC, id DESC) WHERE overdue;

-- GET /v1/timeouts: open deadlines soonest first; (due_at, case_id, kind) is also the
-- keyset cursor, so a page is one ordered index range. The case's community is copied
-- onto its deadlines (written in the same statement as the case row), so a key limited
-- to communities reads its own deadlines off one index instead of visiting every case
-- of those communities.
ALTER TABLE case_deadlines ADD COLUMN community text;
UPDATE case_deadlines d SET community = c.community FROM cases c WHERE c.id = d.case_id;
DROP INDEX IF EXISTS case_deadlines_due_idx;
CREATE INDEX case_deadlines_due_idx ON case_deadlines (due_at, case_id, kind);
CREATE INDEX case_deadlines_community_due_idx ON case_deadlines (community, due_at, case_id, kind);

-- The timeline joins each notification event to its delivery attempts by delivery id;
-- webhook_attempts' primary key (delivery_id, attempt) already serves that lookup.
