/** 登录: a wrong password, a locked username or a dead server each say so on the page. */
import { api, ApiError, describeError } from '../api';
import type { Me } from '../ctx';
import { field, h } from '../dom';
import { t } from '../i18n';

export function loginPage(onLoggedIn: (me: Me) => Promise<void>): HTMLElement {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('div', { 'aria-live': 'polite' });
  const form = h('form', { className: 'card narrow', novalidate: true }, h('h1', {}, t('login.title')), message,
    field(t('field.username'), username), field(t('field.password'), password),
    h('button', { type: 'submit', className: 'primary' }, t('action.login')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    message.replaceChildren();
    if (!username.value.trim() || !password.value) {
      message.append(h('p', { className: 'notice error', role: 'alert' }, `${t('field.username')} / ${t('field.password')}: ${t('error.required')}`));
      return;
    }
    try {
      const session = await api<Me>('POST', '/v1/session', { username: username.value.trim(), password: password.value }, { quiet401: true, token: false });
      await onLoggedIn(session);
    } catch (err) {
      const p = err instanceof ApiError ? err.problem : null;
      const text = p?.status === 401 ? t('login.wrong')
        : p?.status === 429 ? t('login.locked', { minutes: Math.ceil(Number(/(\d+) s/.exec(p.detail)?.[1] ?? 900) / 60) })
          : describeError(err).message;
      password.value = '';
      message.append(h('p', { className: 'notice error', role: 'alert' }, text));
    }
  });
  return form;
}
