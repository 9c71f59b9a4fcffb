/**
 * The webhooks Gongjian sends to partners (src/activities/webhooks.ts), described as OpenAPI
 * 3.1 `webhooks`, so a partner's developers (and the generated client's types) know the
 * body and headers of each event. One entry per event; the body has one shape for all.
 */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { CASE_TYPES } from '../../domain/vocabulary';
import { z } from '../zod';

/** Event name -> who receives it and what `case` then holds. */
export const PARTNER_WEBHOOK_EVENTS = {
  'order.dispatched': 'A resident request is offered to the partner: accept or decline before `deadline`. `case` holds the category, urgency, description and the resident\'s contact details (needed to serve).',
  'order.reminder': 'The offer (or a department review) is still unanswered; `deadline` is when it times out. No contact details.',
  'order.withdrawn': 'The order is no longer the partner\'s (reassigned, cancelled, timed out); `case.reason` says why.',
  'order.extension_decided': 'A supervisor granted or refused the extension the partner asked for; `deadline` is the fulfilment deadline now.',
  'review.requested': 'A department partner is asked to review a registration case before `deadline`; `case` holds the business type, property, applicants and documents.',
  'case.notice': 'A linked institution (bank, notary, ...) is told a registration case it is linked to reached a milestone.',
} as const;

export const PartnerWebhook = z.object({
  event: z.enum(Object.keys(PARTNER_WEBHOOK_EVENTS) as [keyof typeof PARTNER_WEBHOOK_EVENTS]),
  deliveryId: z.string().openapi({ description: 'Stable across the retries of one delivery: deduplicate on it' }),
  caseId: z.string(),
  caseType: z.enum(CASE_TYPES),
  orderId: z.string().openapi({ description: 'The order (or review) this event is about; act on it through the case\'s routes' }),
  deadline: z.string().optional().openapi({ description: 'When the partner\'s answer is due (ISO 8601)' }),
  case: z.record(z.string(), z.unknown()).openapi({ description: 'What the partner needs to serve; depends on the event' }),
}).openapi('PartnerWebhook', {
  example: {
    event: 'order.dispatched', deliveryId: 'service-request:6f1c0a52-8a0e-4b7e-9d55-0c3f2b1e7a10:1',
    caseId: '6f1c0a52-8a0e-4b7e-9d55-0c3f2b1e7a10', caseType: 'service_request', orderId: 'b2d9e3c4-1f5a-4c6b-8e7d-9a0b1c2d3e4f',
    deadline: '2026-03-02T10:30:00.000Z',
    case: { category: 'housing', urgency: 'urgent', description: '家里停电，独居老人', resident: { name: '张大爷', phone: '13712345678', community: '南湖社区', address: '3栋2单元101' } },
  },
});

const WebhookHeaders = z.object({
  'webhook-id': z.string().openapi({ description: 'Standard Webhooks: the delivery id (= X-Delivery-Id)' }),
  'webhook-timestamp': z.string().openapi({ description: 'Standard Webhooks: Unix seconds of this attempt; reject one more than 5 minutes off', example: '1772447400' }),
  'webhook-signature': z.string().openapi({
    description: 'Standard Webhooks: `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{raw body}">` keyed with the webhookSecret\'s bytes; space-separated signatures by the new and the previous secret for 24 hours after a change',
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  }),
  'x-signature': z.string().openapi({ description: '`sha256=<hex HMAC-SHA256 of the raw body, keyed with the partner\'s webhookSecret>`', example: 'sha256=5d41402abc4b2a76b9719d911017c592ae8e0f4f4a3f0e4d5b6c7d8e9f0a1b2c' }),
  'x-delivery-id': z.string().openapi({ description: 'The same as the body\'s deliveryId' }),
  'x-event': z.string().openapi({ description: 'The same as the body\'s event' }),
});

export function registerPartnerWebhooks(registry: OpenAPIRegistry): void {
  for (const [event, description] of Object.entries(PARTNER_WEBHOOK_EVENTS)) {
    registry.registerWebhook({
      method: 'post',
      path: event,
      operationId: `webhook${event.split(/[._]/).map((w) => w[0].toUpperCase() + w.slice(1)).join('')}`,
      summary: `${event}: sent to the partner's webhookUrl`,
      description: `${description} Any 2xx answer counts as delivered; anything else (or no answer within the timeout) is retried with backoff.`,
      tags: ['partner webhooks'],
      security: [],
      request: { headers: WebhookHeaders, body: { required: true, content: { 'application/json': { schema: PartnerWebhook } } } },
      responses: {
        '2XX': { description: 'delivered' },
        '4XX': { description: 'not delivered: retried with backoff (fix the receiver)' },
        '5XX': { description: 'not delivered: retried with backoff' },
      },
    });
  }
}
