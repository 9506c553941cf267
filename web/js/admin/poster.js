// Posters for QR places: one A4 or A5 page per scene (`?ids=a,b,c&size=a4|a5`), with the QR
// code, the place's name and the words residents need. The words on the poster stay Chinese
// whatever the console's language (residents read them); the toolbar follows the toggle.
import { GD, $ } from '../common.js';
const el = GD.el;
GD.strings({
  zh: { 'page.title': '扫码点位海报', 'p.print': '打印', 'p.count': '共 {n} 张（{size}）', 'p.hint': '打印时请选择“实际大小”（100%），纸张与海报尺寸一致，关闭页眉页脚。',
    'p.login': '请先在管理后台登录', 'p.missing': '点位不存在：{id}' },
  en: { 'page.title': 'QR place posters', 'p.print': 'Print', 'p.count': '{n} posters ({size})', 'p.hint': 'Print at actual size (100%) on paper of the poster\'s size, without headers and footers.',
    'p.login': 'Sign in to the admin console first', 'p.missing': 'No such place: {id}' },
});
GD.applyStrings();

const params = new URLSearchParams(location.search);
const size = params.get('size') === 'a5' ? 'a5' : 'a4';
const ids = (params.get('ids') || '').split(',').map((s) => s.trim()).filter(Boolean).slice(0, 200);
let token = null;
try { token = localStorage.getItem('gd.admin.token'); } catch (e) { token = null; }
document.body.classList.add(size);
// One @page rule for the chosen size (a stylesheet cannot switch it by class); a constructed
// sheet, which the CSP allows where an inline <style> would not be.
const page = new CSSStyleSheet();
page.replaceSync(`@page { size: ${size === 'a5' ? 'A5' : 'A4'} portrait; margin: 0; }`);
document.adoptedStyleSheets = [...document.adoptedStyleSheets, page];
$('#count').textContent = GD.t('p.count', { n: ids.length, size: size.toUpperCase() });
$('#print').addEventListener('click', () => window.print());

async function poster(id) {
  const headers = { Authorization: 'Bearer ' + token };
  const [scene, svg] = await Promise.all([
    fetch(`/api/v1/admin/scenes/${encodeURIComponent(id)}`, { headers }).then((r) => (r.ok ? r.json() : null)),
    fetch(`/api/v1/admin/scenes/${encodeURIComponent(id)}/qr.svg`, { headers }).then((r) => (r.ok ? r.blob() : null)),
  ]);
  if (!scene || !svg) return el('section', { class: 'sheet missing' }, [el('p', { text: GD.t('p.missing', { id }) })]);
  const qr = el('img', { class: 'qr', alt: '二维码', src: URL.createObjectURL(svg) });
  return el('section', { class: 'sheet', dataset: { id } }, [
    el('h1', { class: 'call', text: '扫码反映矛盾纠纷' }),
    el('p', { class: 'sub', text: '邻里、家庭、物业、劳资等纠纷，微信扫一扫，调解员就近上门' }),
    qr,
    el('p', { class: 'place', text: scene.name }),
    el('p', { class: 'emergency', text: '紧急情况请拨打110' }),
    el('p', { class: 'url', text: scene.report_url }),
  ]);
}

async function main() {
  if (!token) { GD.toast(GD.t('p.login'), 'error'); return; }
  const sheets = [];
  for (const id of ids) sheets.push(await poster(id));
  $('#sheets').replaceChildren(...sheets);
  await Promise.all([...document.querySelectorAll('img.qr')].map((img) => (img.complete ? null : new Promise((ok) => { img.onload = ok; img.onerror = ok; }))));
  document.body.dataset.ready = 'true';
}
main();
