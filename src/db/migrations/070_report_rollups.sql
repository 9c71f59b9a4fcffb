-- Report rollups (docs/supervision.md "Reports that do not scan"): the all-time summary
-- (GET /v1/reports/summary without from/to) reads these instead of every case.
--
-- Kept up to date by a trigger on `cases`, so every writer (the workflows' batch write,
-- a resync, the reconciler's rewrite of a closed case, a hand-made fix) moves them in the
-- same transaction as the row: a changed row subtracts its old contribution and adds its
-- new one; a repeated write that changes no reported column does nothing.
--
-- One row set per grouping of the report (kind = community | partner | category), each
-- keyed also by community and type, the report's filters. NULL keys (no partner, no
-- community) are kept as NULL: the unique indexes treat them as one value.

CREATE TABLE report_rollup (
  kind              text NOT NULL,
  group_key         text,
  community         text,
  type              text NOT NULL,
  status            text NOT NULL,
  cases             integer NOT NULL DEFAULT 0,
  acknowledged      integer NOT NULL DEFAULT 0,
  completed         integer NOT NULL DEFAULT 0,
  closed            integer NOT NULL DEFAULT 0,
  inside_sla        integer NOT NULL DEFAULT 0,
  sla_judged        integer NOT NULL DEFAULT 0,
  reopened          integer NOT NULL DEFAULT 0,
  service_requests  integer NOT NULL DEFAULT 0,
  satisfaction_sum  integer NOT NULL DEFAULT 0,
  answered          integer NOT NULL DEFAULT 0,
  surveys_due       integer NOT NULL DEFAULT 0,
  service_hours     numeric NOT NULL DEFAULT 0,
  certified         integer NOT NULL DEFAULT 0,
  same_day          integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX report_rollup_key ON report_rollup (kind, group_key, community, type, status) NULLS NOT DISTINCT;

-- Durations per fixed bucket (report_bucket below), one array of counts per (grouping,
-- group, community, type, measure), indexed by bucket (the array's lower bound is its
-- lowest bucket), so the report reads a few hundred compact rows instead of a row per
-- bucket. measure: ack | complete | close (seconds from intake), ttc (registration
-- acceptance to certificate, seconds).
CREATE TABLE report_histogram (
  kind       text NOT NULL,
  group_key  text,
  community  text,
  type       text NOT NULL,
  measure    text NOT NULL,
  counts     integer[] NOT NULL
);
CREATE UNIQUE INDEX report_histogram_key ON report_histogram (kind, group_key, community, type, measure) NULLS NOT DISTINCT;

-- Fixed bucket edges: 1 s wide below 64 s, then 32 buckets per power of two (each at most
-- 1/32 of its lower edge wide). Bucket b >= 64 covers [2^e (1 + s/32), 2^e (1 + (s+1)/32))
-- with e = 6 + (b - 64) / 32, s = (b - 64) % 32. The report's error bound follows from the
-- width (docs/supervision.md).
-- One SQL expression, so Postgres inlines it (the rebuild calls it for every duration of
-- every case). With w = floor(log2 v) from ln(), a rounding error near a power of two
-- yields sub-bucket -1 or 32, which is exactly the neighbouring octave's bucket.
CREATE FUNCTION report_bucket(v float8) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN v < 64 THEN floor(v)::integer
    ELSE 64 + (floor(ln(v) / ln(2::float8))::integer - 6) * 32
      + floor((v / power(2::float8, floor(ln(v) / ln(2::float8))) - 1) * 32)::integer END
$$;

-- Add `delta` to one bucket of one histogram row (creating or widening its array).
CREATE FUNCTION report_histogram_add(k text, g text, c text, t text, m text, b integer, delta integer) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO report_histogram AS h (kind, group_key, community, type, measure, counts)
  VALUES (k, g, c, t, m, ('[' || b || ':' || b || ']={' || delta || '}')::integer[])
  ON CONFLICT (kind, group_key, community, type, measure) DO UPDATE SET
    counts[b] = coalesce(h.counts[b], 0) + delta;
$$;

-- The contribution of case rows (sign +1 or -1) to both tables, applied in key order so two
-- writers touching the same keys lock them in the same order (no deadlock).
CREATE FUNCTION report_rollup_apply(old_row cases, new_row cases) RETURNS void LANGUAGE sql AS $$
  INSERT INTO report_rollup AS r (kind, group_key, community, type, status, cases, acknowledged, completed, closed,
    inside_sla, sla_judged, reopened, service_requests, satisfaction_sum, answered, surveys_due, service_hours, certified, same_day)
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
    coalesce(sum(x.sign) FILTER (WHERE x.same_day), 0)
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
    certified = r.certified + EXCLUDED.certified, same_day = r.same_day + EXCLUDED.same_day;

  SELECT report_histogram_add(d.kind, d.group_key, d.community, d.type, d.measure, d.bucket, d.delta::integer)
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
$$;

CREATE FUNCTION report_rollup_on_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM report_rollup_apply(NULL::cases, NEW);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM report_rollup_apply(OLD, NULL::cases);
  ELSIF (OLD.type, OLD.status, OLD.community, OLD.partner_id, OLD.category, OLD.ack_seconds, OLD.complete_seconds,
         OLD.close_seconds, OLD.within_sla, OLD.reopen_count > 0, OLD.satisfaction, OLD.outcome = 'no_response',
         OLD.hours_spent, OLD.same_day, OLD.time_to_certificate_ms)
    IS DISTINCT FROM
        (NEW.type, NEW.status, NEW.community, NEW.partner_id, NEW.category, NEW.ack_seconds, NEW.complete_seconds,
         NEW.close_seconds, NEW.within_sla, NEW.reopen_count > 0, NEW.satisfaction, NEW.outcome = 'no_response',
         NEW.hours_spent, NEW.same_day, NEW.time_to_certificate_ms) THEN
    PERFORM report_rollup_apply(OLD, NEW);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER cases_report_rollup AFTER INSERT OR UPDATE OR DELETE ON cases
  FOR EACH ROW EXECUTE FUNCTION report_rollup_on_case();

-- Rebuild both tables from `cases` (npm run reconcile -- --rebuild-rollups; the bench seed).
-- The caller holds a lock that keeps writers out (src/db/reportRollups.ts).
CREATE FUNCTION report_rollup_rebuild() RETURNS void LANGUAGE sql AS $$
  DELETE FROM report_rollup;
  DELETE FROM report_histogram;
  INSERT INTO report_rollup (kind, group_key, community, type, status, cases, acknowledged, completed, closed,
    inside_sla, sla_judged, reopened, service_requests, satisfaction_sum, answered, surveys_due, service_hours, certified, same_day)
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
    count(*) FILTER (WHERE x.same_day)
  FROM cases x
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
$$;

SELECT report_rollup_rebuild();
