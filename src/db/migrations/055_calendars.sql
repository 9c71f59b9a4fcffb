-- Working-day calendars defined through PUT /v1/calendars/{id} (the built-ins `always` and
-- `cn-office` live in code, src/domain/calendars.ts). A case snapshots its calendar when it
-- opens, so changing a row here applies to cases opened afterwards (docs/sla-clocks.md).
CREATE TABLE calendars (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  definition  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
