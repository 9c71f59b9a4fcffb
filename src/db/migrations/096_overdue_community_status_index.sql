-- GET /v1/cases?community=…&status=…&overdue=true (a community's overdue cases in one status:
-- what a community's supervisor looks at), issue 17. Without this the planner ANDs the
-- bitmaps of the overdue index and the status index (every overdue case, every case in that
-- status, of all communities), visits each heap page of the intersection, discards the other
-- communities' rows and sorts the rest: work growing with the number of open cases of the
-- whole city (1M cases: 2,100 + 6,300 index entries, 494 heap pages for a 17-row page;
-- docs/supervision.md). Overdue cases are few, so a partial index keyed on the two filters
-- and then the list's sort key is small and reads the page in order, nothing discarded.
CREATE INDEX cases_overdue_community_status_created_idx ON cases (community, status, created_at DESC, id DESC) WHERE overdue;
