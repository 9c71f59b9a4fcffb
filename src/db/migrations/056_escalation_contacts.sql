-- Who is told when an escalation reaches a level (1 grid, 2 community, 3 street office) in
-- one of their communities: a signed escalation.raised webhook (docs/sla-clocks.md).
CREATE TABLE escalation_contacts (
  id              text PRIMARY KEY,
  name            text NOT NULL,
  level           smallint NOT NULL CHECK (level BETWEEN 1 AND 3),
  communities     text[] NOT NULL DEFAULT '{}',
  webhook_url     text NOT NULL,
  webhook_secret  text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX escalation_contacts_level_idx ON escalation_contacts (level);
CREATE INDEX escalation_contacts_communities_idx ON escalation_contacts USING gin (communities);
