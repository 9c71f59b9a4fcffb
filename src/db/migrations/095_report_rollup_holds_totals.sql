-- The all-time summary at city scale (docs/supervision.md "Reports that do not scan", issue 17),
-- two additions to the rollups of migration 070, kept by the same trigger on `cases`:
--
-- 1. Holds. The report's `holds` figures (cases held, holds, working seconds held, from
--    `details.held`, docs/sla-clocks.md) were a pass over every case's snapshot (1M cases: the
--    whole table for each all-time report). `report_rollup` now counts them per grouping, group,
--    community, type and status, like every other count. Guarded like the generated columns of
--    migration 003: a malformed `held` counts as no hold rather than failing the workflow's write.
--    A window's holds read a partial index of the held cases, and a window's measures a
--    covering index on the creation time.
-- 2. Histogram totals. `report_histogram_total` holds the duration histograms summed over
--    community and type, one array per (grouping, group, measure): what a report without a
--    community or type filter reads, instead of an array per community and type.

-- Holds of one case: `details.held.count` when it is a number from 1 up, else 0. Nested CASEs so
-- a cast only ever sees a JSON number.
CREATE FUNCTION report_held_count(d jsonb) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(d -> 'held' -> 'count') = 'number' THEN
    CASE WHEN (d -> 'held' ->> 'count')::numeric BETWEEN 1 AND 2147483647
      THEN round((d -> 'held' ->> 'count')::numeric)::integer ELSE 0 END
  ELSE 0 END
$$;
-- Working milliseconds the holds stopped the fulfilment clock for (`details.held.workingMs`),
-- counted for a case with holds only, else 0.
CREATE FUNCTION report_held_ms(d jsonb) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN report_held_count(d) > 0 AND jsonb_typeof(d -> 'held' -> 'workingMs') = 'number' THEN
    CASE WHEN abs((d -> 'held' ->> 'workingMs')::numeric) < 1e15
      THEN round((d -> 'held' ->> 'workingMs')::numeric)::bigint ELSE 0 END
  ELSE 0 END
$$;

-- A window (a report with from/to) reads its cases' report columns off the creation-time index
-- alone (index-only, no heap page per case: 1M cases, 30 days = 24k heap pages), the columns of
-- migration 005's grouping indexes plus the three grouping columns.
CREATE INDEX cases_report_created_idx ON cases (created_at)
  INCLUDE (community, partner_id, category, type, status, ack_seconds, complete_seconds, close_seconds, within_sla,
           reopen_count, satisfaction, outcome, hours_spent, same_day, time_to_certificate_ms);

-- A window's holds (a report with from/to) read the held cases of the window only, not every
-- case of it a second time after the measures' pass (1M cases, 30 days: 24k heap pages).
CREATE INDEX cases_held_created_idx ON cases (created_at) WHERE report_held_count(details) > 0;

ALTER TABLE report_rollup
  ADD COLUMN held_cases integer NOT NULL DEFAULT 0,
  ADD COLUMN holds      integer NOT NULL DEFAULT 0,
  ADD COLUMN held_ms    bigint  NOT NULL DEFAULT 0;

-- The histograms of migration 070 summed over community and type: one array per (grouping,
-- group, measure), what a report without a community or type filter (the street office's
-- all-time question) needs. groupBy=partner reads about 600 arrays instead of 1,400, category
-- about 50 instead of 2,350 (bench/seed.ts at 1M cases). Same buckets, same trigger.
CREATE TABLE report_histogram_total (
  kind       text NOT NULL,
  group_key  text,
  measure    text NOT NULL,
  counts     integer[] NOT NULL
);
CREATE UNIQUE INDEX report_histogram_total_key ON report_histogram_total (kind, group_key, measure) NULLS NOT DISTINCT;

-- The trigger's functions are PL/pgSQL from here on (they were SQL functions in migration 070):
-- a session plans their statements once and keeps the plans, where a SQL function's statements
-- were planned again at every case row write. 1,000 case updates on the bench's 100k cases
-- under load: 10.2 s of trigger with migration 070's functions, 3.3-3.9 s with these, which
-- also keep the holds and the totals (docs/supervision.md).

-- Add `delta` to one bucket of one histogram (creating or widening its array). As in 070.
CREATE OR REPLACE FUNCTION report_histogram_add(k text, g text, c text, t text, m text, b integer, delta integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_histogram AS h (kind, group_key, community, type, measure, counts)
  VALUES (k, g, c, t, m, ('[' || b || ':' || b || ']={' || delta || '}')::integer[])
  ON CONFLICT (kind, group_key, community, type, measure) DO UPDATE SET
    counts[b] = coalesce(h.counts[b], 0) + delta;
END $$;

-- Add `delta` to one bucket of one total histogram (creating or widening its array).
CREATE FUNCTION report_histogram_total_add(k text, g text, m text, b integer, delta integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_histogram_total AS h (kind, group_key, measure, counts)
  VALUES (k, g, m, ('[' || b || ':' || b || ']={' || delta || '}')::integer[])
  ON CONFLICT (kind, group_key, measure) DO UPDATE SET
    counts[b] = coalesce(h.counts[b], 0) + delta;
END $$;

-- Same as migration 070's, with the three hold columns and the totals, in PL/pgSQL.
CREATE OR REPLACE FUNCTION report_rollup_apply(old_row cases, new_row cases) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO report_rollup AS r (kind, group_key, community, type, status, cases, acknowledged, completed, closed,
    inside_sla, sla_judged, reopened, service_requests, satisfaction_sum, answered, surveys_due, service_hours, certified, same_day,
    held_cases, holds, held_ms)
  SELECT k.kind, k.group_key, x.community, x.type, x.status, sum(x.sign),
    coalesce(sum(x.sign) FILTER (WHERE x.ack_seconds IS NOT NULL), 0),
    coalesce(sum(x.sign) FILTER (WHERE x.complete_seconds IS NOT NULL), 0),
    coalesce(sum(x.sign) FILTER (WHERE x.close_seconds IS NOT NULL), 0),
    coalesce(sum(x.sign) FILTER (WHERE x.complete_seconds IS NOT NULL AND x.within_sla), 0),
    coalesce(sum(x.sign) FILTER (WHERE x.complete_seconds IS NOT NULL AND x.within_sla IS NOT NULL), 0),
    coalesce(sum(x.sign) FILTER (WHERE x.type = 'service_request' AND x.reopen_count > 0), 0),
    coalesce(sum(x.sign) FILTER (WHERE x.type = 'service_request'), 0),
    coalesce(sum(x.sign * x.satisfaction), 0),
    coalesce(sum(x.sign) FILTER (WHERE x.satisfaction IS NOT NULL), 0),
    coalesce(sum(x.sign) FILTER (WHERE x.satisfaction IS NOT NULL OR x.outcome = 'no_response'), 0),
    coalesce(sum(x.sign * x.hours_spent), 0),
    coalesce(sum(x.sign) FILTER (WHERE x.same_day IS NOT NULL), 0),
    coalesce(sum(x.sign) FILTER (WHERE x.same_day), 0),
    coalesce(sum(x.sign) FILTER (WHERE report_held_count(x.details) > 0), 0),
    coalesce(sum(x.sign * report_held_count(x.details)), 0),
    coalesce(sum(x.sign * report_held_ms(x.details)), 0)
  FROM (SELECT -1 AS sign, (old_row).* WHERE (old_row).id IS NOT NULL
        UNION ALL SELECT 1, (new_row).* WHERE (new_row).id IS NOT NULL) x
  CROSS JOIN LATERAL (VALUES ('community', x.community), ('partner', x.partner_id), ('category', x.category)) k(kind, group_key)
  GROUP BY 1, 2, 3, 4, 5
  ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (kind, group_key, community, type, status) DO UPDATE SET
    cases = r.cases + EXCLUDED.cases, acknowledged = r.acknowledged + EXCLUDED.acknowledged,
    completed = r.completed + EXCLUDED.completed, closed = r.closed + EXCLUDED.closed,
    inside_sla = r.inside_sla + EXCLUDED.inside_sla, sla_judged = r.sla_judged + EXCLUDED.sla_judged,
    reopened = r.reopened + EXCLUDED.reopened, service_requests = r.service_requests + EXCLUDED.service_requests,
    satisfaction_sum = r.satisfaction_sum + EXCLUDED.satisfaction_sum, answered = r.answered + EXCLUDED.answered,
    surveys_due = r.surveys_due + EXCLUDED.surveys_due, service_hours = r.service_hours + EXCLUDED.service_hours,
    certified = r.certified + EXCLUDED.certified, same_day = r.same_day + EXCLUDED.same_day,
    held_cases = r.held_cases + EXCLUDED.held_cases, holds = r.holds + EXCLUDED.holds, held_ms = r.held_ms + EXCLUDED.held_ms;

  PERFORM report_histogram_add(d.kind, d.group_key, d.community, d.type, d.measure, d.bucket, d.delta::integer)
  FROM (
    SELECT k.kind, k.group_key, x.community, x.type, m.measure, report_bucket(m.v) AS bucket, sum(x.sign) AS delta
    FROM (SELECT -1 AS sign, (old_row).* WHERE (old_row).id IS NOT NULL
          UNION ALL SELECT 1, (new_row).* WHERE (new_row).id IS NOT NULL) x
    CROSS JOIN LATERAL (VALUES ('community', x.community), ('partner', x.partner_id), ('category', x.category)) k(kind, group_key)
    CROSS JOIN LATERAL (VALUES ('ack', x.ack_seconds), ('complete', x.complete_seconds), ('close', x.close_seconds),
      ('ttc', x.time_to_certificate_ms / 1000.0::float8)) m(measure, v)
    WHERE m.v IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6
    HAVING sum(x.sign) <> 0
    ORDER BY 1, 2, 3, 4, 5, 6
  ) d;

  PERFORM report_histogram_total_add(d.kind, d.group_key, d.measure, d.bucket, d.delta::integer)
  FROM (
    SELECT k.kind, k.group_key, m.measure, report_bucket(m.v) AS bucket, sum(x.sign) AS delta
    FROM (SELECT -1 AS sign, (old_row).* WHERE (old_row).id IS NOT NULL
          UNION ALL SELECT 1, (new_row).* WHERE (new_row).id IS NOT NULL) x
    CROSS JOIN LATERAL (VALUES ('community', x.community), ('partner', x.partner_id), ('category', x.category)) k(kind, group_key)
    CROSS JOIN LATERAL (VALUES ('ack', x.ack_seconds), ('complete', x.complete_seconds), ('close', x.close_seconds),
      ('ttc', x.time_to_certificate_ms / 1000.0::float8)) m(measure, v)
    WHERE m.v IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(x.sign) <> 0
    ORDER BY 1, 2, 3, 4
  ) d;
END $$;

-- Same as migration 070's, with the holds among the columns whose change moves the rollups.
CREATE OR REPLACE FUNCTION report_rollup_on_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM report_rollup_apply(NULL::cases, NEW);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM report_rollup_apply(OLD, NULL::cases);
  ELSIF (OLD.type, OLD.status, OLD.community, OLD.partner_id, OLD.category, OLD.ack_seconds, OLD.complete_seconds,
         OLD.close_seconds, OLD.within_sla, OLD.reopen_count > 0, OLD.satisfaction, OLD.outcome = 'no_response',
         OLD.hours_spent, OLD.same_day, OLD.time_to_certificate_ms, report_held_count(OLD.details), report_held_ms(OLD.details))
    IS DISTINCT FROM
        (NEW.type, NEW.status, NEW.community, NEW.partner_id, NEW.category, NEW.ack_seconds, NEW.complete_seconds,
         NEW.close_seconds, NEW.within_sla, NEW.reopen_count > 0, NEW.satisfaction, NEW.outcome = 'no_response',
         NEW.hours_spent, NEW.same_day, NEW.time_to_certificate_ms, report_held_count(NEW.details), report_held_ms(NEW.details)) THEN
    PERFORM report_rollup_apply(OLD, NEW);
  END IF;
  RETURN NULL;
END $$;

-- Same as migration 070's, with the hold columns.
CREATE OR REPLACE FUNCTION report_rollup_rebuild() RETURNS void LANGUAGE sql AS $$
  DELETE FROM report_rollup;
  DELETE FROM report_histogram;
  DELETE FROM report_histogram_total;
  INSERT INTO report_rollup (kind, group_key, community, type, status, cases, acknowledged, completed, closed,
    inside_sla, sla_judged, reopened, service_requests, satisfaction_sum, answered, surveys_due, service_hours, certified, same_day,
    held_cases, holds, held_ms)
  SELECT k.kind, k.group_key, x.community, x.type, x.status, count(*),
    count(*) FILTER (WHERE x.ack_seconds IS NOT NULL),
    count(*) FILTER (WHERE x.complete_seconds IS NOT NULL),
    count(*) FILTER (WHERE x.close_seconds IS NOT NULL),
    count(*) FILTER (WHERE x.complete_seconds IS NOT NULL AND x.within_sla),
    count(*) FILTER (WHERE x.complete_seconds IS NOT NULL AND x.within_sla IS NOT NULL),
    count(*) FILTER (WHERE x.type = 'service_request' AND x.reopen_count > 0),
    count(*) FILTER (WHERE x.type = 'service_request'),
    coalesce(sum(x.satisfaction), 0),
    count(*) FILTER (WHERE x.satisfaction IS NOT NULL),
    count(*) FILTER (WHERE x.satisfaction IS NOT NULL OR x.outcome = 'no_response'),
    coalesce(sum(x.hours_spent), 0),
    count(*) FILTER (WHERE x.same_day IS NOT NULL),
    count(*) FILTER (WHERE x.same_day),
    count(*) FILTER (WHERE x.held > 0),
    coalesce(sum(x.held), 0),
    coalesce(sum(x.held_ms), 0)
  FROM (SELECT c.*, report_held_count(c.details) AS held, report_held_ms(c.details) AS held_ms FROM cases c) x
  CROSS JOIN LATERAL (VALUES ('community', x.community), ('partner', x.partner_id), ('category', x.category)) k(kind, group_key)
  GROUP BY 1, 2, 3, 4, 5;

  INSERT INTO report_histogram (kind, group_key, community, type, measure, counts)
  SELECT kind, group_key, community, type, measure,
    ('[' || lo || ':' || hi || ']=' ||
      (SELECT array_agg(coalesce((j ->> s::text)::integer, 0) ORDER BY s) FROM generate_series(lo, hi) s)::text)::integer[]
  FROM (
  SELECT kind, group_key, community, type, measure, min(bucket) AS lo, max(bucket) AS hi, jsonb_object_agg(bucket, n) AS j
  FROM (
    SELECT k.kind, k.group_key, x.community, x.type, m.measure, report_bucket(m.v) AS bucket, count(*)::int AS n
    FROM cases x
    CROSS JOIN LATERAL (VALUES ('community', x.community), ('partner', x.partner_id), ('category', x.category)) k(kind, group_key)
    CROSS JOIN LATERAL (VALUES ('ack', x.ack_seconds), ('complete', x.complete_seconds), ('close', x.close_seconds),
      ('ttc', x.time_to_certificate_ms / 1000.0::float8)) m(measure, v)
    WHERE m.v IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6
  ) b
  GROUP BY 1, 2, 3, 4, 5
  ) h;

  -- The totals from the histograms just built (a few thousand arrays, not the cases again).
  INSERT INTO report_histogram_total (kind, group_key, measure, counts)
  SELECT kind, group_key, measure,
    ('[' || lo || ':' || hi || ']=' ||
      (SELECT array_agg(coalesce((j ->> s::text)::integer, 0) ORDER BY s) FROM generate_series(lo, hi) s)::text)::integer[]
  FROM (
    SELECT kind, group_key, measure, min(bucket) AS lo, max(bucket) AS hi, jsonb_object_agg(bucket, n) AS j
    FROM (
      SELECT h.kind, h.group_key, h.measure, array_lower(h.counts, 1) + u.i - 1 AS bucket, sum(u.n)::int AS n
      FROM report_histogram h CROSS JOIN LATERAL unnest(h.counts) WITH ORDINALITY u(n, i)
      WHERE u.n IS NOT NULL AND u.n <> 0
      GROUP BY 1, 2, 3, 4
    ) b
    GROUP BY 1, 2, 3
  ) t;
$$;

-- Existing rows get their holds: one grouped pass over the cases, writers held off meanwhile.
LOCK TABLE cases IN SHARE MODE;
SELECT report_rollup_rebuild();
