-- The care-hours rollup (docs/care-plans.md "How hours are kept"): GET /v1/reports/care-hours
-- reads this instead of every visit row.
--
-- One row per (plan, partner, community, UTC year of the due time) with the visits of that
-- key sorted by due time and, per visit, the running totals up to and including it: visits
-- completed, completed on time (not late), missed, and milliseconds of completed visits. The
-- report finds, by binary search (width_bucket), how many of a row's visits are due before
-- `from` and before `to`; the difference of the running totals at those two positions is the
-- row's contribution to [from, to), exact for any window, and the plan is counted when at
-- least one of its visits is due in it (count(DISTINCT case_id) as over the visits). So the
-- report reads one row per plan and year (per partner when the partner changed) and never
-- the visits.
--
-- Kept by a trigger on care_plan_visits in the same transaction as the visit upsert: a write
-- that changes a reported column recomputes the rows of its old and its new key from the
-- visits themselves (a year of one plan's visits, through care_plan_visits_plan_due_idx), so a
-- repeated write, a resync or a re-upsert of the same visit can never count twice. Writers of
-- one plan are serialized by a transaction advisory lock taken before the visits are read.
CREATE TABLE care_hours_rollup (
  case_id      text NOT NULL,
  partner_id   text NOT NULL,
  community    text NOT NULL,
  year         integer NOT NULL,
  -- sorted, smallest first (width_bucket needs it); ties in any order
  due_at       timestamptz[] NOT NULL,
  -- running totals, element i = over the first i visits of due_at
  completed    integer[] NOT NULL,
  on_time      integer[] NOT NULL,
  missed       integer[] NOT NULL,
  duration_ms  bigint[] NOT NULL,
  PRIMARY KEY (case_id, partner_id, community, year)
);
CREATE INDEX care_hours_rollup_community_idx ON care_hours_rollup (community, year);
CREATE INDEX care_hours_rollup_year_idx ON care_hours_rollup (year);

-- Recompute the row of one key from the visits (none left: no row).
CREATE FUNCTION care_hours_rollup_refresh(c text, p text, m text, y integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  -- Two writers of one plan: the second waits here, and (READ COMMITTED) its next statement
  -- sees the first one's visits once it has committed.
  PERFORM pg_advisory_xact_lock(727086, hashtext(c));
  DELETE FROM care_hours_rollup WHERE case_id = c AND partner_id = p AND community = m AND year = y;
  INSERT INTO care_hours_rollup (case_id, partner_id, community, year, due_at, completed, on_time, missed, duration_ms)
  SELECT c, p, m, y, array_agg(x.due_at ORDER BY x.due_at, x.visit_id), array_agg(x.completed ORDER BY x.due_at, x.visit_id),
    array_agg(x.on_time ORDER BY x.due_at, x.visit_id), array_agg(x.missed ORDER BY x.due_at, x.visit_id),
    array_agg(x.duration_ms ORDER BY x.due_at, x.visit_id)
  FROM (
    SELECT v.due_at, v.visit_id,
      (count(*) FILTER (WHERE v.status = 'completed') OVER w)::integer AS completed,
      (count(*) FILTER (WHERE v.status = 'completed' AND NOT v.late) OVER w)::integer AS on_time,
      (count(*) FILTER (WHERE v.status = 'missed') OVER w)::integer AS missed,
      (coalesce(sum(v.duration_ms) FILTER (WHERE v.status = 'completed') OVER w, 0))::bigint AS duration_ms
    FROM care_plan_visits v
    WHERE v.case_id = c AND v.partner_id = p AND v.community = m
      AND v.due_at >= make_timestamptz(y, 1, 1, 0, 0, 0, 'UTC') AND v.due_at < make_timestamptz(y + 1, 1, 1, 0, 0, 0, 'UTC')
    WINDOW w AS (ORDER BY v.due_at, v.visit_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  ) x
  HAVING count(*) > 0;
END $$;

CREATE FUNCTION care_hours_year(t timestamptz) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT extract(year FROM t AT TIME ZONE 'UTC')::integer
$$;

CREATE FUNCTION care_hours_rollup_on_visit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM care_hours_rollup_refresh(NEW.case_id, NEW.partner_id, NEW.community, care_hours_year(NEW.due_at));
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM care_hours_rollup_refresh(OLD.case_id, OLD.partner_id, OLD.community, care_hours_year(OLD.due_at));
  ELSIF (OLD.case_id, OLD.partner_id, OLD.community, OLD.due_at, OLD.status, OLD.late, OLD.duration_ms)
    IS DISTINCT FROM (NEW.case_id, NEW.partner_id, NEW.community, NEW.due_at, NEW.status, NEW.late, NEW.duration_ms) THEN
    PERFORM care_hours_rollup_refresh(NEW.case_id, NEW.partner_id, NEW.community, care_hours_year(NEW.due_at));
    IF (OLD.case_id, OLD.partner_id, OLD.community, care_hours_year(OLD.due_at))
      IS DISTINCT FROM (NEW.case_id, NEW.partner_id, NEW.community, care_hours_year(NEW.due_at)) THEN
      PERFORM care_hours_rollup_refresh(OLD.case_id, OLD.partner_id, OLD.community, care_hours_year(OLD.due_at));
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER care_plan_visits_hours_rollup AFTER INSERT OR UPDATE OR DELETE ON care_plan_visits
  FOR EACH ROW EXECUTE FUNCTION care_hours_rollup_on_visit();

-- Rebuild from care_plan_visits (npm run reconcile -- --rebuild-rollups; the bench seed). The
-- caller holds a lock that keeps writers out (src/db/carePlans.ts).
CREATE FUNCTION care_hours_rollup_rebuild() RETURNS void LANGUAGE sql AS $$
  DELETE FROM care_hours_rollup;
  INSERT INTO care_hours_rollup (case_id, partner_id, community, year, due_at, completed, on_time, missed, duration_ms)
  SELECT x.case_id, x.partner_id, x.community, x.year, array_agg(x.due_at ORDER BY x.due_at, x.visit_id),
    array_agg(x.completed ORDER BY x.due_at, x.visit_id), array_agg(x.on_time ORDER BY x.due_at, x.visit_id),
    array_agg(x.missed ORDER BY x.due_at, x.visit_id), array_agg(x.duration_ms ORDER BY x.due_at, x.visit_id)
  FROM (
    SELECT v.case_id, v.partner_id, v.community, care_hours_year(v.due_at) AS year, v.due_at, v.visit_id,
      (count(*) FILTER (WHERE v.status = 'completed') OVER w)::integer AS completed,
      (count(*) FILTER (WHERE v.status = 'completed' AND NOT v.late) OVER w)::integer AS on_time,
      (count(*) FILTER (WHERE v.status = 'missed') OVER w)::integer AS missed,
      (coalesce(sum(v.duration_ms) FILTER (WHERE v.status = 'completed') OVER w, 0))::bigint AS duration_ms
    FROM care_plan_visits v
    WINDOW w AS (PARTITION BY v.case_id, v.partner_id, v.community, care_hours_year(v.due_at)
      ORDER BY v.due_at, v.visit_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
  ) x
  GROUP BY x.case_id, x.partner_id, x.community, x.year;
$$;

SELECT care_hours_rollup_rebuild();
