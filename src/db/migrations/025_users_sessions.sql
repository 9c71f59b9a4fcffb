-- People (API keys stay for systems): user accounts with a slow salted password hash, their
-- browser sessions, and failed logins (the lockout counts them per username).
CREATE TABLE users (
  id               text PRIMARY KEY,
  username         text NOT NULL,
  display_name     text NOT NULL,
  password_hash    text NOT NULL,
  role             text NOT NULL CHECK (role IN ('admin', 'supervisor', 'staff', 'partner')),
  partner_id       text,
  communities      text[],
  escalation_level smallint CHECK (escalation_level IN (1, 2, 3)),
  active           boolean NOT NULL DEFAULT true,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- Usernames are matched without regard to case: "Wang" and "wang" are one person.
CREATE UNIQUE INDEX users_username_idx ON users (lower(username));

-- Only a SHA-256 of the session cookie is stored (the cookie is 32 random bytes).
CREATE TABLE user_sessions (
  token_hash  text PRIMARY KEY,
  user_id     text NOT NULL REFERENCES users (id),
  csrf_token  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  ended_at    timestamptz
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id) WHERE ended_at IS NULL;

CREATE TABLE login_failures (
  id        bigserial PRIMARY KEY,
  username  text NOT NULL,
  at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_username_idx ON login_failures (lower(username), at);
