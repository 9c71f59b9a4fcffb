-- GET /v1/extension-requests (the supervisor's dashboard): the few in-progress requests whose
-- extension waits for a decision, without reading every case row.
CREATE INDEX cases_pending_extension_idx ON cases ((details -> 'extension' ->> 'requestedAt'))
  WHERE type = 'service_request' AND status = 'in_progress' AND details -> 'extension' ->> 'decision' = 'pending';
