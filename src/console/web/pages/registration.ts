/**
 * 不动产登记 on the case page (docs/registration.md): the facts (missing documents, the three
 * reviews, certificate, delivery) and the staff actions the routes offer: 补正材料 (supplement),
 * 确认已送达 (delivered), 记录满意度 (survey), 撤回登记 (cancel), and for supervisors 改派审核.
 */
import { api } from '../api';
import type { Ctx } from '../ctx';
import { field, fmtTime, h, select } from '../dom';
import { currentLocale, t } from '../i18n';
import { DEPARTMENTS, withMessage, type PartnerInfo } from './common';

type Fact = [string, string | Node];

export function registrationFacts(c: any, names: Map<string, PartnerInfo>): Fact[] {
  const loc = currentLocale();
  const docs = (list: string[] | undefined) => (list ?? []).map((d) => t(`doc.${d}`)).join('、') || t('registration.none');
  const facts: Fact[] = [
    [t('field.businessType'), t(`business.${c.businessType}`)], [t('field.applicantName'), (c.applicants ?? []).map((a: any) => a.name).join('、')],
    [t('field.propertyAddress'), c.property?.address ?? ''], [t('field.community'), c.community ?? ''], [t('field.delivery'), t(`delivery.${c.delivery}`)],
    [t('field.documents'), docs(c.documents)],
  ];
  if ((c.missingDocuments ?? []).length) facts.push([t('registration.missing'), h('span', { 'data-testid': 'missing-documents' }, docs(c.missingDocuments))]);
  const reviews = Object.entries(c.reviews ?? {}) as [string, any][];
  if (reviews.length) {
    facts.push([t('registration.reviews'), h('ul', { className: 'plain' }, reviews.map(([dept, r]) => h('li', {},
      `${t(`dept.${dept}`)}: ${t(`reviewStatus.${r.status}`)}${r.partnerId ? ` · ${names.get(r.partnerId)?.name ?? r.partnerId}` : ''}${r.reason ? ` · ${r.reason}` : ''}${r.status === 'pending' ? ` · ${t('field.dueAt')} ${fmtTime(r.dueAt, loc)}` : ''}`,
      r.overdue ? h('span', { className: 'badge s-overdue' }, t('field.overdue')) : null)))]);
  }
  if (c.certificateNo) facts.push([t('field.certificateNo'), c.certificateNo]);
  if (c.delivered) facts.push([t('event.delivered'), `${fmtTime(c.delivered.at, loc)}${c.delivered.note ? ` · ${c.delivered.note}` : ''}`]);
  if (c.withdrawal?.reason) facts.push([t('field.reason'), c.withdrawal.reason]);
  return facts;
}

export function registrationActions(ctx: Ctx, c: any, names: Map<string, PartnerInfo>, reload: () => void): HTMLElement | null {
  const role = ctx.me.role;
  if (role !== 'staff' && role !== 'supervisor') return null;
  const box = h('div', { 'aria-live': 'polite' });
  const act = (path: string, body: unknown) => withMessage(box, async () => {
    await api('POST', `/v1/registrations/${encodeURIComponent(c.id)}/${path}`, body);
    reload();
    return t('order.done');
  });
  const parts: HTMLElement[] = [];
  if (c.status === 'awaiting_documents') {
    const boxes = (c.missingDocuments as string[]).map((d) => h('input', { type: 'checkbox', name: 'documents', value: d }));
    const f = h('form', { className: 'inline', novalidate: true, 'data-testid': 'supplement' },
      h('fieldset', {}, h('legend', {}, t('registration.supplementHint')), (c.missingDocuments as string[]).map((d, i) => h('label', { className: 'check' }, boxes[i], t(`doc.${d}`)))),
      h('button', { type: 'submit', className: 'primary' }, t('action.supplement')));
    f.addEventListener('submit', (ev) => { ev.preventDefault(); void act('documents', { documents: boxes.filter((b) => b.checked).map((b) => b.value) }); });
    parts.push(f);
  }
  if (c.status === 'awaiting_delivery') {
    const note = h('input', { name: 'note' });
    const f = h('form', { className: 'inline', novalidate: true, 'data-testid': 'delivered' }, field(t('field.note'), note), h('button', { type: 'submit', className: 'primary' }, t('action.delivered')));
    f.addEventListener('submit', (ev) => { ev.preventDefault(); void act('delivered', note.value.trim() ? { note: note.value.trim() } : {}); });
    parts.push(f);
  }
  if (c.status === 'awaiting_survey') {
    const score = select('score', [['5', '5'], ['4', '4'], ['3', '3'], ['2', '2'], ['1', '1']]);
    const comment = h('input', { name: 'comment' });
    const f = h('form', { className: 'inline', novalidate: true }, field(t('field.score'), score), field(t('field.comment'), comment), h('button', { type: 'submit' }, t('action.survey')));
    f.addEventListener('submit', (ev) => { ev.preventDefault(); void act('survey', { score: Number(score.value), ...(comment.value.trim() ? { comment: comment.value.trim() } : {}) }); });
    parts.push(f);
  }
  if (role === 'supervisor' && c.status === 'in_review') {
    for (const dept of DEPARTMENTS) {
      const review = c.reviews?.[dept];
      if (review?.status !== 'pending') continue;
      const partner = select('partnerId', [...names.values()].filter((p) => p.active && p.kind === 'department' && p.department === dept && p.id !== review.partnerId).map((p) => [p.id, p.name]), { empty: '—', required: true });
      const f = h('form', { className: 'inline', novalidate: true, 'data-review': dept }, field(`${t(`dept.${dept}`)} · ${t('field.partner')}`, partner), h('button', { type: 'submit' }, t('action.reassignReview')));
      f.addEventListener('submit', (ev) => { ev.preventDefault(); void act(`reviews/${dept}/assign`, { partnerId: partner.value }); });
      parts.push(f);
    }
  }
  if (c.status === 'awaiting_documents' || c.status === 'in_review') {
    const reason = h('input', { name: 'reason' });
    const f = h('form', { className: 'inline', novalidate: true }, field(t('field.reason'), reason), h('button', { type: 'submit', className: 'danger' }, t('action.withdraw')));
    f.addEventListener('submit', (ev) => { ev.preventDefault(); void act('cancel', { reason: reason.value }); });
    parts.push(f);
  }
  return parts.length ? h('section', { className: 'card' }, h('h2', {}, t('case.actions')), box, ...parts) : null;
}
