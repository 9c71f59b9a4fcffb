/**
 * The partner's buttons on one order, shared by "my orders" (session) and the order-link page
 * (token): 接单 / 拒单 / 报进展 / 完成, 签到 / 签退 for a care-plan visit, big enough for a thumb.
 */
import { describeError } from './api';
import { h } from './dom';
import { t } from './i18n';
import { fieldLine } from './pages/common';

/** `services`: a visit's planned services, reported as delivered at check-out. */
export function orderActions(actions: string[], perform: (action: string, body: unknown) => Promise<void>, services: string[] = []): HTMLElement {
  const box = h('div', { 'aria-live': 'polite', className: 'order-message' });
  const text = h('textarea', { name: 'note', rows: 2 });
  // eslint-disable-next-line prefer-const
  let buttonRow: HTMLElement, note: HTMLElement | null;
  const run = async (action: string, body: unknown, done: string) => {
    box.replaceChildren();
    try {
      await perform(action, body);
      box.append(h('p', { className: 'notice ok', role: 'status' }, done));
      // The order has left this partner: nothing more to tap.
      if (['decline', 'complete', 'review', 'check-out'].includes(action)) { buttonRow.replaceChildren(); note?.remove(); }
    } catch (err) {
      const { message, fields } = describeError(err);
      box.append(h('div', { className: 'notice error', role: 'alert' }, h('p', {}, message), fields.length ? h('ul', {}, fields.map((f) => h('li', {}, fieldLine(f)))) : null));
    }
  };
  const buttons: HTMLElement[] = [];
  if (actions.includes('accept')) buttons.push(h('button', { type: 'button', className: 'big primary', onclick: () => run('accept', {}, t('order.accepted')) }, t('action.accept')));
  if (actions.includes('decline')) buttons.push(h('button', { type: 'button', className: 'big', onclick: () => run('decline', { reason: text.value.trim() }, t('order.declined')) }, t('action.decline')));
  if (actions.includes('progress')) buttons.push(h('button', { type: 'button', className: 'big', onclick: () => run('progress', { note: text.value.trim() }, t('order.done')) }, t('action.progress')));
  if (actions.includes('complete')) buttons.push(h('button', { type: 'button', className: 'big primary', onclick: () => run('complete', { note: text.value.trim() }, t('order.completed')) }, t('action.complete')));
  if (actions.includes('review')) {
    buttons.push(h('button', { type: 'button', className: 'big primary', onclick: () => run('review', { approved: true }, t('order.done')) }, t('action.approve')));
    buttons.push(h('button', { type: 'button', className: 'big', onclick: () => run('review', { approved: false, reason: text.value.trim() }, t('order.done')) }, t('action.reject')));
  }
  if (actions.includes('check-in')) buttons.push(h('button', { type: 'button', className: 'big primary', onclick: () => run('check-in', { carer: text.value.trim() }, t('order.checkedIn')) }, t('action.checkIn')));
  if (actions.includes('check-out')) buttons.push(h('button', { type: 'button', className: 'big primary', onclick: () => run('check-out', { services, ...(text.value.trim() ? { note: text.value.trim() } : {}) }, t('order.checkedOut')) }, t('action.checkOut')));
  const label = actions.includes('check-in') ? t('order.carerName') : actions.includes('accept') ? t('order.declineReason') : actions.includes('review') ? t('field.reason') : t('order.completeNote');
  note = buttons.length ? h('label', { className: 'note' }, label, text) : null;
  buttonRow = h('div', { className: 'buttons' }, buttons);
  return h('div', { className: 'order-actions' }, box, note, buttonRow);
}
