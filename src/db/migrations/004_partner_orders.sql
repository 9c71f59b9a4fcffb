-- A partner's orders are derived from the timeline events that carry its partnerId and an orderId.
CREATE INDEX case_events_partner_orders_idx ON case_events ((data->>'partnerId'), case_id)
  WHERE data ? 'orderId';
