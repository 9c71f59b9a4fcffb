/**
 * Every side effect of the case workflows. Built once per worker with its dependencies,
 * so tests can pass their own pool or fetch.
 */
import type { Pool } from 'pg';
import type { CaseEventBatch } from '../domain/caseEvents';
import { recordCaseEventBatch } from '../db/readModel';
import { type PartnerSelectionCriteria, selectBestPartner } from './partnerMatching';
import { type CertificateRequest, issueCertificateNumber, type ReviewerCriteria, selectDepartmentReviewer } from './registration';
import { orderLinkOfDelivery } from './orderLinks';
import { deliverPartnerWebhook, type WebhookDelivery } from './webhooks';

export interface ActivityDeps {
  pool: Pool;
  fetch?: typeof fetch;
  webhookTimeoutMs?: number;
  /** Loopback/private webhook targets allowed; the worker passes config.webhookAllowPrivate (false in production). */
  webhookAllowPrivate?: boolean;
  /** Where order links point and the key they are made with; unset: webhooks carry no `links.order`. */
  orderLinks?: { secret: Buffer; baseUrl: string };
}

export function createActivities(deps: ActivityDeps) {
  const http = {
    pool: deps.pool, fetch: deps.fetch ?? fetch, timeoutMs: deps.webhookTimeoutMs ?? 10_000,
    // Unset only in activity tests against loopback partner simulators.
    allowPrivate: deps.webhookAllowPrivate ?? true,
    orderLink: deps.orderLinks ? orderLinkOfDelivery(deps.pool, deps.orderLinks) : undefined,
  };
  return {
    /** Append timeline events and move the case row forward (idempotent by case id + seq). */
    async recordCaseEvents(batch: CaseEventBatch): Promise<void> {
      await recordCaseEventBatch(deps.pool, batch);
    },
    async selectPartner(criteria: PartnerSelectionCriteria) {
      return selectBestPartner(deps.pool, criteria);
    },
    async deliverWebhook(delivery: WebhookDelivery) {
      return deliverPartnerWebhook(http, delivery);
    },
    /** The partner that reviews a registration case for one department (并行办理). */
    async selectDepartmentReviewer(criteria: ReviewerCriteria) {
      return selectDepartmentReviewer(deps.pool, criteria);
    },
    /** The case's certificate number; the same one on every retry. */
    async issueCertificateNumber(request: CertificateRequest) {
      return issueCertificateNumber(deps.pool, request);
    },
  };
}

export type CaseActivities = ReturnType<typeof createActivities>;
export type { PartnerCandidate, PartnerSelectionCriteria } from './partnerMatching';
export type { WebhookDelivery, WebhookResult } from './webhooks';
export type { CertificateRequest, DepartmentReviewer, IssuedCertificate, ReviewerCriteria } from './registration';
