-- The summary report (src/db/reports.ts) groups cases by community, partner or category.
-- The list indexes of those three columns (migration 003) now also carry every column the
-- report reads, so a report is an index-only scan that arrives already in group order:
-- no pass over the wide table rows (snapshot details) and no sort before the medians.
-- On 100k cases this halves the report's time (docs/supervision.md, BENCHMARKS.md).
-- The list still reads its pages off the same key columns.
DROP INDEX IF EXISTS cases_community_created_idx;
DROP INDEX IF EXISTS cases_partner_created_idx;
DROP INDEX IF EXISTS cases_category_created_idx;
CREATE INDEX cases_community_created_idx ON cases (community, created_at DESC, id DESC)
  INCLUDE (type, status, ack_seconds, complete_seconds, close_seconds, within_sla, reopen_count, satisfaction, outcome,
           hours_spent, same_day, time_to_certificate_ms);
CREATE INDEX cases_partner_created_idx ON cases (partner_id, created_at DESC, id DESC)
  INCLUDE (community, type, status, ack_seconds, complete_seconds, close_seconds, within_sla, reopen_count, satisfaction, outcome,
           hours_spent, same_day, time_to_certificate_ms);
CREATE INDEX cases_category_created_idx ON cases (category, created_at DESC, id DESC)
  INCLUDE (community, type, status, ack_seconds, complete_seconds, close_seconds, within_sla, reopen_count, satisfaction, outcome,
           hours_spent, same_day, time_to_certificate_ms);
