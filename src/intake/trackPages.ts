/**
 * The resident's pages: /track (a form) and /track/{code} (the case, with a printable receipt
 * and a QR code of the page's own address). Server-rendered HTML, no script, one stylesheet
 * from this server, so the CSP can forbid everything else.
 */
import QRCode from 'qrcode';
import { groupedCode } from './trackingCode';
import type { TrackingView } from './trackingView';
import { type Lang, PAGE_TEXT } from './trackMessages';

export const TRACK_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const t = (key: string, lang: Lang) => esc(PAGE_TEXT[key][lang]);

function layout(lang: Lang, body: string, otherLangHref: string): string {
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t('title', lang)}</title>
<link rel="stylesheet" href="/track/assets/track.css">
</head><body><main>
<nav><a href="${esc(otherLangHref)}" lang="${lang === 'en' ? 'zh-CN' : 'en'}">${t('otherLang', lang)}</a></nav>
<h1>${t('title', lang)}</h1>
${body}
</main></body></html>`;
}

export function formPage(lang: Lang, opts: { notFound?: boolean; status?: 'tooMany' } = {}): string {
  const other: Lang = lang === 'en' ? 'zh-CN' : 'en';
  const message = opts.status === 'tooMany' ? `<p class="error" role="alert">${t('tooMany', lang)}</p>`
    : opts.notFound ? `<p class="error" role="alert">${t('notFound', lang)}</p>` : '';
  return layout(lang, `${message}
<form method="get" action="/track">
<label for="code">${t('prompt', lang)}</label>
<input id="code" name="code" autocomplete="off" autocapitalize="characters" inputmode="text" maxlength="20" required>
<input type="hidden" name="lang" value="${lang}">
<button type="submit">${t('submit', lang)}</button>
</form>`, `/track?lang=${other}`);
}

export async function casePage(lang: Lang, code: string, view: TrackingView, pageUrl: string): Promise<string> {
  const other: Lang = lang === 'en' ? 'zh-CN' : 'en';
  const qr = await QRCode.toString(pageUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
  const when = (iso: string) => esc(new Date(iso).toLocaleString(lang, { timeZone: 'Asia/Shanghai', dateStyle: 'medium', timeStyle: 'short' }));
  const steps = view.steps.map((s) => `<li><span class="step">${esc(s.label)}</span> <time datetime="${esc(s.at)}">${when(s.at)}</time></li>`).join('\n');
  return layout(lang, `<section class="case">
<p class="type">${esc(view.caseTypeLabel)}</p>
<dl>
<dt>${t('status', lang)}</dt><dd class="status">${esc(view.statusLabel)}</dd>
${view.expectedBy ? `<dt>${t('expectedBy', lang)}</dt><dd><time datetime="${esc(view.expectedBy)}">${when(view.expectedBy)}</time></dd>` : ''}
${view.partnerName ? `<dt>${t('partner', lang)}</dt><dd>${esc(view.partnerName)}</dd>` : ''}
</dl>
<h2>${t('steps', lang)}</h2>
<ol class="steps">
${steps}
</ol>
</section>
<section class="receipt" aria-label="${t('receipt', lang)}">
<p>${t('receipt', lang)}</p>
<div class="qr">${qr}</div>
<p class="code">${t('code', lang)}: <strong>${esc(groupedCode(code))}</strong></p>
<p class="url">${esc(pageUrl)}</p>
<p class="noprint">${t('print', lang)}</p>
</section>`, `/track/${encodeURIComponent(code)}?lang=${other}`);
}

export const TRACK_CSS = `
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;font-size:17px;line-height:1.5;color:#1a1a1a;background:#f6f7f9}
main{max-width:30rem;margin:0 auto;padding:1rem}
nav{text-align:right}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
h2{font-size:1.1rem;margin:1rem 0 .5rem}
label{display:block;margin-bottom:.5rem}
input[name=code]{width:100%;font-size:1.3rem;padding:.6rem;letter-spacing:.1em;text-transform:uppercase;border:1px solid #888;border-radius:6px}
button{margin-top:.8rem;width:100%;font-size:1.1rem;padding:.7rem;border:0;border-radius:6px;background:#c8102e;color:#fff}
.error{color:#a00;font-weight:600}
.case,.receipt{background:#fff;border-radius:8px;padding:1rem;margin-bottom:1rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;margin:0}
dt{color:#555}dd{margin:0;font-weight:600}
.steps{padding-left:1.2rem}.steps li{margin:.3rem 0}
.steps time{color:#555;font-size:.9rem;display:block}
.type{color:#555;margin:0 0 .5rem}
.qr svg{width:60%;max-width:12rem;display:block;margin:.5rem auto}
.code{text-align:center;font-size:1.2rem}
.url{text-align:center;font-size:.8rem;color:#555;word-break:break-all}
@media print{body{background:#fff}nav,.noprint{display:none}.receipt{border:1px dashed #000}}
`;
