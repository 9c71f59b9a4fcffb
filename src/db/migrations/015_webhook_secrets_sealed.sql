-- Partners' webhook secrets sealed at rest (src/crypto/secretBox.ts), the previous secret kept
-- for the 24 h of dual signing after a change, and partners without a webhook of their own.
-- The plaintext column stays only until the start-up step seals what it holds
-- (src/db/webhookSecrets.ts): SQL cannot, the keys live in the environment.
ALTER TABLE partners ALTER COLUMN webhook_url DROP NOT NULL;
ALTER TABLE partners ALTER COLUMN webhook_secret DROP NOT NULL;
ALTER TABLE partners ADD COLUMN webhook_secret_sealed text;
ALTER TABLE partners ADD COLUMN previous_webhook_secret_sealed text;
ALTER TABLE partners ADD COLUMN webhook_secret_changed_at timestamptz;

-- How an attempt ended beside its HTTP status: delivered, failed, refused (address or partner), skipped (no webhook).
ALTER TABLE webhook_attempts ADD COLUMN outcome text;
