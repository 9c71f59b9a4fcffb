/**
 * Every side effect of the case workflows. Built once per worker with its dependencies,
 * so tests can pass their own pool or fetch.
 */
import type { Pool } from 'pg';
import type { WebhookSecretBox } from '../crypto/secretBox';
import { type Cidr, parseCidrs } from '../net/privateAddress';
import { webhookDispatcher, webhookFetch } from '../net/webhookDispatcher';
import type { CaseEventBatch } from '../domain/caseEvents';
import { recordEscalations } from '../db/escalations';
import { recordCaseEventBatch } from '../db/readModel';
import { countStoredBatch, countWebhookAttempt, webhookOutcomeOf } from './domainMetrics';
import { type EscalationNotice, notifyEscalationContacts } from './escalationWebhooks';
import { refuseUnstorableBatch } from './readModelData';
import { type CareVisitBatch, recordCareVisits, resolveInstallationSla } from './carePlans';
import { type PartnerSelectionCriteria, selectBestPartner } from './partnerMatching';
import { type CertificateRequest, issueCertificateNumber, type ReviewerCriteria, selectDepartmentReviewer } from './registration';
import { orderLinkOfDelivery } from './orderLinks';
import { deliverPartnerWebhook, type WebhookDelivery } from './webhooks';

export interface ActivityDeps {
  pool: Pool;
  fetch?: typeof fetch;
  webhookTimeoutMs?: number;
  /** Non-public ranges webhooks may reach; the worker passes config.webhookAllowCidrs (none in production unless named). */
  webhookAllowCidrs?: Cidr[];
  /** Opens partners' sealed webhook secrets; the worker passes webhookSecretBoxFor(config). */
  webhookSecrets?: WebhookSecretBox;
  /** Where order links point and the key they are made with; unset: webhooks carry no `links.order`. */
  orderLinks?: { secret: Buffer; baseUrl: string };
}

export function createActivities(deps: ActivityDeps) {
  const http = {
    pool: deps.pool, fetch: deps.fetch ?? webhookFetch, timeoutMs: deps.webhookTimeoutMs ?? 10_000,
    // Unset only in activity tests against loopback partner simulators.
    dispatcher: webhookDispatcher({ allow: deps.webhookAllowCidrs ?? parseCidrs('127.0.0.0/8,::1/128') }),
    secrets: deps.webhookSecrets,
    orderLink: deps.orderLinks ? orderLinkOfDelivery(deps.pool, deps.orderLinks) : undefined,
  };
  return {
    /** Append timeline events and move the case row forward (idempotent by case id + seq). */
    async recordCaseEvents(batch: CaseEventBatch): Promise<void> {
      try {
        await recordCaseEventBatch(deps.pool, batch);
      } catch (err) {
        // Data Postgres refuses (SQLSTATE class 22) stays refused: fail at once, never retry for ever.
        throw await refuseUnstorableBatch(deps.pool, batch, err);
      }
      await recordEscalations(deps.pool, batch);
      countStoredBatch(batch);
    },
    /** Signed escalation.raised webhooks to the contacts of a level in the case's community (no resident data). */
    async notifyEscalationContacts(notice: EscalationNotice) {
      return notifyEscalationContacts(http, notice);
    },
    async selectPartner(criteria: PartnerSelectionCriteria) {
      return selectBestPartner(deps.pool, criteria);
    },
    async deliverWebhook(delivery: WebhookDelivery) {
      try {
        const result = await deliverPartnerWebhook(http, delivery);
        countWebhookAttempt(delivery.event, 'delivered');
        return result;
      } catch (err) {
        countWebhookAttempt(delivery.event, webhookOutcomeOf(err));
        throw err;
      }
    },
    /** The partner that reviews a registration case for one department (并行办理). */
    async selectDepartmentReviewer(criteria: ReviewerCriteria) {
      return selectDepartmentReviewer(deps.pool, criteria);
    },
    /** The case's certificate number; the same one on every retry. */
    async issueCertificateNumber(request: CertificateRequest) {
      return issueCertificateNumber(deps.pool, request);
    },
    /** Upsert a care plan's visits (idempotent by plan + visit, newest revision wins). */
    async recordCareVisits(batch: CareVisitBatch): Promise<void> {
      await recordCareVisits(deps.pool, batch);
    },
    /** The SLA a care plan's installation request starts with. */
    async resolveInstallationSla() {
      return resolveInstallationSla(deps.pool);
    },
  };
}

export type CaseActivities = ReturnType<typeof createActivities>;
export type { PartnerCandidate, PartnerSelectionCriteria } from './partnerMatching';
export type { WebhookDelivery, WebhookResult } from './webhooks';
export type { EscalationNotice, EscalationNoticeResult } from './escalationWebhooks';
export type { CareVisitBatch } from './carePlans';
export type { CertificateRequest, DepartmentReviewer, IssuedCertificate, ReviewerCriteria } from './registration';
