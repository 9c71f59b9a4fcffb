-- Order links (/p/{token}): a partner without an account acts on one order from a phone.
-- Only a SHA-256 of the token is stored; the token itself is an HMAC of the order with a
-- server key, so the API and the workers can show the same link again without storing it.
CREATE TABLE order_links (
  token_hash  text PRIMARY KEY,
  kind        text NOT NULL,
  case_id     text NOT NULL,
  order_id    text NOT NULL,
  partner_id  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX order_links_case_idx ON order_links (case_id);
