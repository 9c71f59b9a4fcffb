-- Codec browser sessions (src/api/codecSession.ts): the cookie names one of these rows, so a
-- session can be ended before its 8 hours (POST /codec/logout), not only by revoking its key.
CREATE TABLE codec_sessions (
  id          text PRIMARY KEY,
  key_id      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  ended_at    timestamptz
);
CREATE INDEX codec_sessions_key_idx ON codec_sessions (key_id);
