// A party's own copy (/p/{token}): their agreement as PDF and the case's dates — when it is
// to be performed, until when 司法确认 can be applied for, what the follow-up found — in plain
// words, Chinese first. The link is theirs alone: read-only, it expires, the mediator can
// replace it.
import { GD, $ } from './common.js';

GD.strings({
  zh: {
    'page.title': '我的调解协议书', 'loading': '正在加载…',
    'h.ok': '{name}，您好', 's.ok': '{committee}调解的纠纷（编号 {n}），调解协议已于 {d} 生效。您是这份协议的{role}。',
    'h.notfound': '这个链接打不开', 's.notfound': '链接可能已过期、已被调解员换成新的，或者不完整。请联系您的调解员重新发送。',
    'copy.title': '您的协议书', 'copy.text': '这是您的一份调解协议书（第 {v} 版），可以下载保存、打印。',
    'copy.pdf': '下载调解协议书（PDF）',
    'dates.title': '接下来的日期',
    'd.perform': '{d} 前履行协议', 'd.perform.how': '履行方式：{m}', 'd.perform.where': '履行地点：{p}',
    'd.confirm': '{d} 前可以一起申请司法确认', 'd.followed': '调解员回访：{r}',
    'f.performed': '已履行', 'f.partly': '部分履行', 'f.not_performed': '未履行',
    'cf.title': '可以申请司法确认',
    'cf.text': '您和对方当事人可以在 {d} 前，一起到人民法院申请司法确认；确认后，对方不履行时可以申请法院强制执行。请带上调解协议书和身份证。',
    'cf.applied': '已向{c}申请司法确认。', 'cf.confirmed': '法院已确认这份协议。', 'cf.rejected': '法院没有确认这份协议，请联系调解员。',
    'keep.title': '关于本页', 'keep': '本页只给您本人查看，只能看，不能改。链接在 {d} 前有效，请不要转发给别人。'
  },
  en: {
    'page.title': 'My mediation agreement', 'loading': 'Loading…',
    'h.ok': 'Hello, {name}', 's.ok': 'The dispute mediated by {committee} (no. {n}): the agreement took effect on {d}. You are its {role}.',
    'h.notfound': 'This link does not open', 's.notfound': 'It may have expired, been replaced by your mediator, or be incomplete. Ask your mediator to send it again.',
    'copy.title': 'Your copy', 'copy.text': 'Your copy of the mediation agreement (version {v}), to download, keep and print.',
    'copy.pdf': 'Download the agreement (PDF)',
    'dates.title': 'Dates ahead',
    'd.perform': 'Perform the agreement by {d}', 'd.perform.how': 'How: {m}', 'd.perform.where': 'Where: {p}',
    'd.confirm': 'Apply together for judicial confirmation by {d}', 'd.followed': 'Mediator\u2019s follow-up: {r}',
    'f.performed': 'performed', 'f.partly': 'partly performed', 'f.not_performed': 'not performed',
    'cf.title': 'You may apply for judicial confirmation',
    'cf.text': 'You and the other party may apply together to the people\'s court for judicial confirmation until {d}; once confirmed, the agreement can be enforced by the court. Bring the agreement and your ID cards.',
    'cf.applied': 'Applied for judicial confirmation at {c}.', 'cf.confirmed': 'The court confirmed the agreement.', 'cf.rejected': 'The court did not confirm the agreement; contact your mediator.',
    'keep.title': 'About this page', 'keep': 'This page is for you only, to read. The link works until {d}; please do not pass it on.'
  }
});

var token = decodeURIComponent(location.pathname.split('/').pop() || '');
var base = '/api/v1/party/' + encodeURIComponent(token);
var roles = { '申请人': 'applicant', '被申请人': 'respondent', '第三人': 'third party', '委托代理人': 'agent' };
var copy = null;

function day(d) {
  if (!d) return '';
  var p = d.split('-');
  return GD.lang === 'zh' ? p[0] + '年' + Number(p[1]) + '月' + Number(p[2]) + '日' : d;
}

function render() {
  $('#headline').removeAttribute('data-i18n');
  var role = GD.lang === 'zh' ? copy.role_label : (roles[copy.role_label] || copy.role_label);
  $('#headline').textContent = GD.t('h.ok', { name: copy.name });
  $('#subline').textContent = GD.t('s.ok', { committee: copy.committee, n: copy.number, d: day(copy.effective_on), role: role });
  $('#copy-card').hidden = false;
  $('#copy-text').textContent = GD.t('copy.text', { v: copy.version });
  $('#copy-pdf').href = base + '/agreement.pdf';
  var dates = $('#dates');
  dates.replaceChildren();
  var line = function (text, sub) {
    var li = GD.el('li', {}, [GD.el('strong', { text: text })]);
    (sub || []).forEach(function (s) { li.appendChild(GD.el('div', { class: 'muted', text: s })); });
    dates.appendChild(li);
  };
  if (copy.performance_due) {
    var how = [];
    if (copy.performance_method) how.push(GD.t('d.perform.how', { m: copy.performance_method }));
    if (copy.performance_place) how.push(GD.t('d.perform.where', { p: copy.performance_place }));
    line(GD.t('d.perform', { d: day(copy.performance_due) }), how);
  }
  if (copy.confirmation_apply_by) line(GD.t('d.confirm', { d: day(copy.confirmation_apply_by) }));
  if (copy.last_follow_up) line(GD.t('d.followed', { r: GD.t('f.' + copy.last_follow_up) }));
  $('#dates-card').hidden = !dates.children.length;
  var cf = [];
  if (copy.confirmation_court) cf.push(GD.t('cf.applied', { c: copy.confirmation_court }));
  if (copy.confirmation_result) cf.push(GD.t('cf.' + copy.confirmation_result));
  if (!cf.length && copy.confirmation_apply_by) cf.push(GD.t('cf.text', { d: day(copy.confirmation_apply_by) }));
  $('#confirm-card').hidden = !cf.length;
  $('#confirm-text').textContent = cf.join(' ');
  $('#keep-card').hidden = false;
  $('#keep-text').textContent = GD.t('keep', { d: day(GD.fmtDateTime(copy.link_expires_at).slice(0, 10)) });
}

function notFound() {
  $('#headline').removeAttribute('data-i18n');
  $('#headline').textContent = GD.t('h.notfound');
  $('#subline').textContent = GD.t('s.notfound');
}

var failed = false;
GD.onLang(function () { if (copy) render(); else if (failed) notFound(); });
fetch(base, { headers: { accept: 'application/json' } }).then(function (r) {
  if (!r.ok) throw new Error(r.status);
  return r.json();
}).then(function (body) { copy = body; render(); }).catch(function () { failed = true; notFound(); });
