/** 新建诉求 and 新建登记: categories, urgencies and channels in the reader's language; the API's field errors shown beside the form. */
import { api } from '../api';
import type { Ctx } from '../ctx';
import { field, h, select } from '../dom';
import { t } from '../i18n';
import { CATEGORIES, CHANNELS, DOCS, FLAGS, options, withMessage } from './common';

const required = (name: string, extra: Record<string, string> = {}) => h('input', { name, required: true, ...extra });

export async function newRequestPage(ctx: Ctx): Promise<HTMLElement> {
  const name = required('name');
  const phone = required('phone', { type: 'tel', inputmode: 'tel' });
  const community = required('community', { value: ctx.me.communities?.[0] ?? '' });
  const compound = h('input', { name: 'compound' });
  const grid = h('input', { name: 'grid' });
  const address = h('input', { name: 'address' });
  const flags = FLAGS.map((f) => h('input', { type: 'checkbox', name: 'flags', value: f }));
  const category = select('category', options('cat', CATEGORIES), { required: true, empty: '—' });
  const urgency = select('urgency', options('urgency', ['normal', 'urgent']), { required: true, value: 'normal' });
  const channel = select('channel', options('channel', CHANNELS), { required: true, value: 'home_visit' });
  const description = h('textarea', { name: 'description', required: true, rows: 3 });
  const box = h('div', { 'aria-live': 'polite' });
  const form = h('form', { className: 'card', novalidate: true }, h('h1', {}, t('newRequest.title')), box,
    h('div', { className: 'grid2' }, field(t('field.residentName'), name), field(t('field.phone'), phone), field(t('field.community'), community),
      field(t('field.compound'), compound), field(t('field.grid'), grid), field(t('field.address'), address)),
    h('fieldset', {}, h('legend', {}, t('field.flags')), FLAGS.map((f, i) => h('label', { className: 'check' }, flags[i], t(`flag.${f}`)))),
    h('div', { className: 'grid2' }, field(t('field.category'), category), field(t('field.urgency'), urgency), field(t('field.channel'), channel)),
    field(t('field.description'), description),
    h('button', { type: 'submit', className: 'primary' }, t('action.submit')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const opt = (el: HTMLInputElement) => (el.value.trim() ? el.value.trim() : undefined);
    let created: { id: string } | null = null;
    await withMessage(box, async () => {
      created = await api<{ id: string }>('POST', '/v1/service-requests', {
        resident: { name: name.value.trim(), phone: phone.value.trim(), community: community.value.trim(), compound: opt(compound), grid: opt(grid), address: opt(address),
          flags: flags.filter((f) => f.checked).map((f) => f.value) },
        category: category.value || undefined, urgency: urgency.value, channel: channel.value, description: description.value.trim(),
      });
      return t('case.created');
    });
    if (created) ctx.go(`#/case/${(created as { id: string }).id}`);
  });
  return form;
}

export async function newRegistrationPage(ctx: Ctx): Promise<HTMLElement> {
  const name = required('applicantName');
  const idNumber = required('idNumber');
  const phone = required('phone', { type: 'tel' });
  const address = required('propertyAddress');
  const community = h('input', { name: 'community', value: ctx.me.communities?.[0] ?? '' });
  const businessType = select('businessType', options('business', ['transfer', 'mortgage', 'first_registration', 'change', 'cancellation']), { required: true, empty: '—' });
  const delivery = select('delivery', options('delivery', ['window', 'post', 'home_visit']), { required: true, value: 'window' });
  const docs = DOCS.map((d) => h('input', { type: 'checkbox', name: 'documents', value: d }));
  const box = h('div', { 'aria-live': 'polite' });
  const form = h('form', { className: 'card', novalidate: true }, h('h1', {}, t('newRegistration.title')), box,
    h('div', { className: 'grid2' }, field(t('field.applicantName'), name), field(t('field.idNumber'), idNumber), field(t('field.phone'), phone),
      field(t('field.propertyAddress'), address), field(t('field.community'), community), field(t('field.businessType'), businessType), field(t('field.delivery'), delivery)),
    h('fieldset', {}, h('legend', {}, t('field.documents')), DOCS.map((d, i) => h('label', { className: 'check' }, docs[i], t(`doc.${d}`)))),
    h('button', { type: 'submit', className: 'primary' }, t('action.submit')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let created: { id: string } | null = null;
    await withMessage(box, async () => {
      created = await api<{ id: string }>('POST', '/v1/registrations', {
        applicants: [{ name: name.value.trim(), idNumber: idNumber.value.trim(), phone: phone.value.trim() }], property: { address: address.value.trim() },
        businessType: businessType.value || undefined, documents: docs.filter((d) => d.checked).map((d) => d.value), delivery: delivery.value,
        ...(community.value.trim() ? { community: community.value.trim() } : {}),
      });
      return t('case.created');
    });
    if (created) ctx.go(`#/case/${(created as { id: string }).id}`);
  });
  return form;
}
