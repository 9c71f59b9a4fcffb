-- The escalation level (1 grid, 2 community, 3 street office) a staff or supervisor key
-- works at, as users already carry it: GET /v1/escalations?level=mine lists that level.
ALTER TABLE api_keys ADD COLUMN escalation_level smallint CHECK (escalation_level IN (1, 2, 3));
