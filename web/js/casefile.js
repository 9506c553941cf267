// The case file on the mediator's phone (/m/case/{id}): parties (the reporter in one tap),
// the mediation record (typed or dictated with the keyboard's own microphone), the agreement
// drafted from a category template, signatures on the phone's screen (or a thumb-print photo)
// with the mediator last, and the PDFs. Uses the token the mediator page keeps.
import { GD, $ } from './common.js';
import { mountGrade } from './casefile_grade.js';
import { mountLinks } from './casefile_links.js';

GD.strings({
  zh: {
    'page.title': '案卷', 'back': '返回', 'signed_out': '请先在调解员页面登录。',
    'parties.title': '当事人', 'parties.reporter': '把报告人设为当事人', 'parties.add': '添加当事人', 'parties.none': '还没有当事人',
    'party.role': '身份', 'party.name': '姓名', 'party.phone': '电话（选填）', 'party.id': '身份证号（选填）',
    'party.address': '住址（选填）', 'party.save': '保存当事人', 'party.reveal': '查看完整号码', 'party.added': '已添加当事人',
    'party.revealed': '电话 {p} · 身份证 {i}（已记录查看）',
    'role.applicant': '申请人', 'role.respondent': '被申请人', 'role.third_party': '第三人', 'role.agent': '委托代理人',
    'record.title': '调解笔录', 'record.new': '记一条（可用手机键盘上的话筒说话输入）', 'record.session': '第几次调解',
    'record.add': '记下', 'record.edit': '修改', 'record.none': '还没有记录', 'record.sign': '笔录签名',
    'record.closed': '笔录已签名，不能再改', 'record.prompt': '修改这条记录：', 'record.nth': '第{n}次',
    'agreement.title': '调解协议书', 'agreement.template': '套用模板', 'agreement.facts': '纠纷主要事实',
    'agreement.issues': '争议事项', 'agreement.responsibility': '各方责任', 'agreement.terms': '协议内容（一行一条）',
    'agreement.method': '履行方式', 'agreement.place': '履行地点', 'agreement.due': '履行期限',
    'agreement.save': '保存协议', 'agreement.saved': '协议已保存（第{n}版）',
    'agreement.draft': '第{n}版 · 待签名', 'agreement.effective': '第{n}版 · 已生效（{t}）',
    'agreement.new_version': '第{n}版是修改后的新版本，需要各方重新签名', 'agreement.none': '还没有起草协议',
    'agreement.pick': '勾选常用条款，会加到协议内容里：',
    'sign.party': '{role} {name} 签名', 'sign.mediator': '调解员签名（最后签）', 'sign.done': '已签',
    'sign.button': '签名', 'sign.took_effect': '各方已签名，协议生效', 'sign.ok': '签名已保存',
    'pad.hint': '请本人在框内用手指签名', 'pad.clear': '重写', 'pad.ok': '确认签名', 'pad.cancel': '取消',
    'pad.thumb': '不会写字：拍指印照片', 'pad.empty': '请先在框内签名',
    'docs.title': '文书下载', 'docs.agreement': '调解协议书 PDF', 'docs.record': '调解笔录 PDF', 'docs.case': '整卷 PDF',
    'code.text_changed': '协议内容已变，请重新核对后签名', 'code.parties_sign_first': '请各方当事人先签名，调解员最后签',
    'code.already_signed': '已经签过了', 'code.limit_reached': '已达上限', 'code.record_signed': '笔录已签名，不能再改',
    'code.no_agreement': '还没有起草协议', 'code.invalid_field': '填写有误：{msg}',
    'code.party_signed': '协议已有签名，不能再移除当事人',
    'party.remove': '移除', 'party.remove_confirm': '移除当事人 {name}？（会记录在案）', 'party.removed': '已移除当事人',
    'due.title': '到期提醒', 'due.performance': '到期：请回访并记录履行情况', 'due.performance.when': '约定履行期限 {d}',
    'due.confirmation': '司法确认提醒已发给当事人', 'due.confirmation.when': '当事人可在 {d} 前共同申请司法确认',
    'due.deadline': '调解期限已到', 'due.deadline.when': '期限 {d}：请结案，或经双方同意后延期',
    'follow.note': '回访情况（选填）', 'follow.performed': '已履行', 'follow.partly': '部分履行', 'follow.not_performed': '未履行',
    'follow.saved.none': '已记录：已履行', 'follow.saved.urged': '已记录，已督促履行；到期后再回访',
    'follow.saved.advised_to_sue': '已记录：已告知当事人可向人民法院起诉',
    'follow.line': '{t} · {p}', 'perf.performed': '已履行', 'perf.partly': '部分履行', 'perf.not_performed': '未履行',
    'action.none': '', 'action.urged': '（已督促履行）', 'action.advised_to_sue': '（已告知可起诉）'
  },
  en: {
    'page.title': 'Case file', 'back': 'Back', 'signed_out': 'Please sign in on the mediator page first.',
    'parties.title': 'Parties', 'parties.reporter': 'Make the reporter a party', 'parties.add': 'Add a party', 'parties.none': 'No parties yet',
    'party.role': 'Role', 'party.name': 'Name', 'party.phone': 'Phone (optional)', 'party.id': 'ID number (optional)',
    'party.address': 'Address (optional)', 'party.save': 'Save party', 'party.reveal': 'Show full numbers', 'party.added': 'Party added',
    'party.revealed': 'Phone {p} · ID {i} (this view is recorded)',
    'role.applicant': 'Applicant', 'role.respondent': 'Respondent', 'role.third_party': 'Third party', 'role.agent': 'Agent',
    'record.title': 'Mediation record', 'record.new': 'New entry (the keyboard microphone can dictate)', 'record.session': 'Session',
    'record.add': 'Add', 'record.edit': 'Edit', 'record.none': 'No entries yet', 'record.sign': 'Sign the record',
    'record.closed': 'The record is signed and cannot change', 'record.prompt': 'Edit this entry:', 'record.nth': 'Session {n}',
    'agreement.title': 'Mediation agreement', 'agreement.template': 'Use template', 'agreement.facts': 'Facts',
    'agreement.issues': 'Points in dispute', 'agreement.responsibility': 'Responsibility', 'agreement.terms': 'Terms (one per line)',
    'agreement.method': 'How performed', 'agreement.place': 'Where', 'agreement.due': 'By when',
    'agreement.save': 'Save agreement', 'agreement.saved': 'Agreement saved (version {n})',
    'agreement.draft': 'Version {n} · awaiting signatures', 'agreement.effective': 'Version {n} · in effect ({t})',
    'agreement.new_version': 'Version {n} is a changed version: everyone signs again', 'agreement.none': 'No agreement drafted yet',
    'agreement.pick': 'Tick common clauses to add them to the terms:',
    'sign.party': '{role} {name} signs', 'sign.mediator': 'Mediator signs (last)', 'sign.done': 'Signed',
    'sign.button': 'Sign', 'sign.took_effect': 'Everyone signed: the agreement is in effect', 'sign.ok': 'Signature saved',
    'pad.hint': 'The signer signs in the box with a finger', 'pad.clear': 'Clear', 'pad.ok': 'Confirm', 'pad.cancel': 'Cancel',
    'pad.thumb': 'Cannot write: photograph a thumb print', 'pad.empty': 'Sign in the box first',
    'docs.title': 'Documents', 'docs.agreement': 'Agreement PDF', 'docs.record': 'Record PDF', 'docs.case': 'Whole file PDF',
    'code.text_changed': 'The text changed: check it again, then sign', 'code.parties_sign_first': 'Every party signs before the mediator',
    'code.already_signed': 'Already signed', 'code.limit_reached': 'Limit reached', 'code.record_signed': 'The record is signed and cannot change',
    'code.no_agreement': 'No agreement drafted yet', 'code.invalid_field': 'Please check: {msg}',
    'code.party_signed': 'The agreement carries signatures: parties can no longer be removed',
    'party.remove': 'Remove', 'party.remove_confirm': 'Remove party {name}? (This is recorded.)', 'party.removed': 'Party removed',
    'due.title': 'Due', 'due.performance': 'Due: follow up and record the performance', 'due.performance.when': 'Agreed to perform by {d}',
    'due.confirmation': 'The parties were reminded of judicial confirmation', 'due.confirmation.when': 'They may apply together until {d}',
    'due.deadline': 'The mediation deadline has passed', 'due.deadline.when': 'Deadline {d}: close the case, or extend it with both parties\' consent',
    'follow.note': 'Follow-up note (optional)', 'follow.performed': 'Performed', 'follow.partly': 'Partly performed', 'follow.not_performed': 'Not performed',
    'follow.saved.none': 'Recorded: performed', 'follow.saved.urged': 'Recorded; performance urged, due again later',
    'follow.saved.advised_to_sue': 'Recorded: the parties were told they may sue',
    'follow.line': '{t} · {p}', 'perf.performed': 'Performed', 'perf.partly': 'Partly performed', 'perf.not_performed': 'Not performed',
    'action.none': '', 'action.urged': ' (urged)', 'action.advised_to_sue': ' (advised to sue)'
  }
});

var id = decodeURIComponent(location.pathname.split('/').pop());
var base = '/api/v1/mediator/incidents/' + encodeURIComponent(id) + '/case';
var token = GD.takeToken('mediator');
var incident = null, current = null, template = null;
var CATEGORIES = ['neighbor', 'family', 'property', 'wages', 'land', 'traffic', 'consumer', 'other'];

function call(method, path, body) {
  return GD.api(method, path, { token: token, body: body }).then(function (r) {
    if (r.status === 401) { $('#app').hidden = true; $('#signed-out').hidden = false; }
    else if (!r.ok) GD.toast(function () { return GD.errText(r); }, 'error');
    return r;
  });
}

var refreshGrade = mountGrade(base, call);
var refreshLinks = mountLinks(base, call, function (id) { return partyName(id).name; });

function load() {
  return call('GET', base).then(function (r) { if (r.ok) { current = r.body; render(); refreshGrade(); refreshLinks(!!current.in_effect_version); } return r; });
}

function render() {
  var c = current;
  var head = $('#case-head');
  head.textContent = incident ? GD.t('cat.' + incident.category) + ' · ' + incident.description : '';
  var parties = $('#parties');
  parties.replaceChildren();
  if (!c.parties.length) parties.appendChild(GD.el('p', { class: 'muted', text: GD.t('parties.none') }));
  c.parties.forEach(function (p) {
    var details = [p.phone_masked, p.id_number_masked, p.address].filter(Boolean).join(' · ');
    var revealed = GD.el('div', { class: 'small' });
    parties.appendChild(GD.el('div', { class: 'item party' }, [
      GD.el('div', { class: 'who', text: GD.t('role.' + p.role) + '：' + p.name }),
      GD.el('div', { class: 'small', text: details }),
      revealed,
      signingBegan(c) ? null : GD.el('button', { type: 'button', class: 'ghost remove', text: GD.t('party.remove'), onclick: function () {
        if (!window.confirm(GD.t('party.remove_confirm', { name: p.name }))) return;
        call('DELETE', base + '/parties/' + encodeURIComponent(p.id)).then(function (r) {
          if (r.ok) { GD.toast(GD.tr('party.removed'), 'ok'); load(); }
        });
      } }),
      (p.phone_masked || p.id_number_masked) ? GD.el('button', { type: 'button', class: 'ghost', text: GD.t('party.reveal'), onclick: function () {
        call('POST', base + '/parties/' + encodeURIComponent(p.id) + '/reveal', {}).then(function (r) {
          if (r.ok) revealed.textContent = GD.t('party.revealed', { p: r.body.phone || '-', i: r.body.id_number || '-' });
        });
      } }) : null
    ]));
  });
  $('#add-reporter').hidden = c.parties.some(function (p) { return p.from_reporter; });
  renderDue(c);

  var record = $('#record');
  record.replaceChildren();
  if (!c.record.length) record.appendChild(GD.el('p', { class: 'muted', text: GD.t('record.none') }));
  c.record.forEach(function (e) {
    record.appendChild(GD.el('div', { class: 'item entry' }, [
      GD.el('div', { class: 'small', text: GD.t('record.nth', { n: e.session }) + ' · ' + GD.fmtTime(e.at) }),
      GD.el('div', { text: e.text }),
      c.record_closed ? null : GD.el('button', { type: 'button', class: 'ghost', text: GD.t('record.edit'), onclick: function () {
        var text = window.prompt(GD.t('record.prompt'), e.text);
        if (text && text.trim() && text !== e.text) {
          call('PUT', base + '/record/' + encodeURIComponent(e.id), { text: text }).then(function (r) { if (r.ok) load(); });
        }
      } })
    ]));
  });
  $('#entry-form').hidden = c.record_closed;
  $('#sign-record').textContent = c.record_closed ? GD.t('record.closed') : GD.t('record.sign');
  $('#sign-record').disabled = c.record_closed || !c.record.length;

  var status = $('#agreement-status');
  status.replaceChildren();
  var a = c.agreement;
  if (!a) status.appendChild(GD.el('p', { class: 'muted', text: GD.t('agreement.none') }));
  else {
    status.appendChild(GD.el('p', { class: 'state' + (a.effective_at ? ' effective' : ''), id: 'agreement-state',
      text: a.effective_at ? GD.t('agreement.effective', { n: a.number, t: GD.fmtTime(a.effective_at) }) : GD.t('agreement.draft', { n: a.number }) }));
    if (!a.effective_at && c.in_effect_version) {
      status.appendChild(GD.el('p', { class: 'muted', text: GD.t('agreement.new_version', { n: a.number }) }));
    }
  }
  renderSigners();
}

/** Whether any agreement version carries a signature (then parties stay). */
function signingBegan(c) {
  return !!c.in_effect_version || c.versions > 1 || !!(c.agreement && c.agreement.signatures.length);
}

/** A day as the phone shows it (YYYY-MM-DD from the server). */
function day(d) { return d || ''; }

/** What fell due, first on the page: the follow-up (with its three answers), the 司法确认 reminder, the deadline. */
function renderDue(c) {
  var items = [];
  var fired = function (kind) {
    return c.deadlines.filter(function (d) { return d.kind === kind && d.fired_at; }).pop();
  };
  var due = current.agreement && current.agreement.performance_due;
  if (c.follow_up_due) items.push([GD.t('due.performance'), due ? GD.t('due.performance.when', { d: day(due) }) : '']);
  var conf = fired('confirmation');
  if (conf && !c.confirmation) items.push([GD.t('due.confirmation'), c.confirmation_apply_by ? GD.t('due.confirmation.when', { d: day(c.confirmation_apply_by) }) : '']);
  var dl = fired('deadline');
  if (dl && !c.in_effect_version) items.push([GD.t('due.deadline'), GD.t('due.deadline.when', { d: GD.fmtDateTime(dl.due_at).slice(0, 16) })]);
  var box = $('#due-items');
  box.replaceChildren();
  items.forEach(function (it) {
    box.appendChild(GD.el('div', { class: 'item' }, [GD.el('strong', { text: it[0] }), it[1] ? GD.el('div', { class: 'small', text: it[1] }) : null]));
  });
  (c.follow_ups || []).forEach(function (f) {
    box.appendChild(GD.el('div', { class: 'small follow-ups', text: GD.t('follow.line', { t: GD.fmtDateTime(f.at).slice(0, 16), p: GD.t('perf.' + f.performance) }) + GD.t('action.' + f.action) }));
  });
  $('#follow-up').hidden = !c.follow_up_due;
  $('#due').hidden = !items.length;
}

function partyName(partyId) {
  var p = current.parties.find(function (x) { return x.id === partyId; });
  return p ? p : { name: '?', role: 'applicant' };
}

function renderSigners() {
  var box = $('#signers');
  box.replaceChildren();
  var a = current.agreement;
  if (!a) return;
  var signers = a.parties.map(function (p) { return { type: 'party', party_id: p.party_id }; }).concat([{ type: 'mediator' }]);
  signers.forEach(function (s) {
    var label = s.type === 'mediator' ? GD.t('sign.mediator') : GD.t('sign.party', { role: GD.t('role.' + partyName(s.party_id).role), name: partyName(s.party_id).name });
    var done = a.signatures.find(function (x) { return x.signer.type === s.type && x.signer.party_id === s.party_id; });
    box.appendChild(GD.el('div', { class: 'signer', dataset: { signer: s.type === 'mediator' ? 'mediator' : s.party_id } }, [
      GD.el('span', { text: label }),
      done ? GD.el('strong', { class: 'signed', text: GD.t('sign.done') })
        : GD.el('button', { type: 'button', class: 'big primary', text: GD.t('sign.button'), onclick: function () {
          openPad(label, function (image, mark) {
            return call('POST', base + '/agreement/signatures', { signer: s, mark: mark, image: image, text_sha256: a.text_sha256 }).then(function (r) {
              if (r.ok) GD.toast(GD.tr(r.body.took_effect ? 'sign.took_effect' : 'sign.ok'), 'ok');
              return r;
            });
          }, a.text.split('\n').slice(1).join('\n'));
        } })
    ]));
  });
}

// ---- the signing pad --------------------------------------------------------------------
var pad = { onSigned: null, drawn: false };
var canvas = $('#pad-canvas');
function sizeCanvas() {
  var ratio = window.devicePixelRatio || 1;
  var rect = canvas.getBoundingClientRect();
  canvas.width = Math.round(rect.width * ratio);
  canvas.height = Math.round(rect.height * ratio);
  var ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.lineWidth = 3; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.strokeStyle = '#111';
  pad.drawn = false;
}
var drawing = false;
canvas.addEventListener('pointerdown', function (e) {
  drawing = true;
  canvas.setPointerCapture(e.pointerId);
  var r = canvas.getBoundingClientRect(), ctx = canvas.getContext('2d');
  ctx.beginPath(); ctx.moveTo(e.clientX - r.left, e.clientY - r.top);
});
canvas.addEventListener('pointermove', function (e) {
  if (!drawing) return;
  var r = canvas.getBoundingClientRect(), ctx = canvas.getContext('2d');
  ctx.lineTo(e.clientX - r.left, e.clientY - r.top); ctx.stroke();
  pad.drawn = true;
});
['pointerup', 'pointercancel'].forEach(function (k) { canvas.addEventListener(k, function () { drawing = false; }); });

/** Open the pad for `title`, showing `text` (what is signed: the signer reads it first). */
function openPad(title, onSigned, text) {
  pad.onSigned = onSigned;
  $('#pad-title').textContent = title;
  $('#pad-text').textContent = text || '';
  $('#pad').hidden = false;
  sizeCanvas();
}
function closePad() { $('#pad').hidden = true; pad.onSigned = null; }
function submit(dataUrl, mark) {
  var button = $('#pad-ok');
  button.disabled = true;
  pad.onSigned(dataUrl.split(',')[1], mark).then(function (r) {
    button.disabled = false;
    closePad();
    load();
  });
}
$('#pad-clear').addEventListener('click', sizeCanvas);
$('#pad-cancel').addEventListener('click', closePad);
$('#pad-ok').addEventListener('click', function () {
  if (!pad.drawn) { GD.toast(GD.tr('pad.empty'), 'error'); return; }
  submit(canvas.toDataURL('image/png'), 'signature');
});
$('#pad-photo').addEventListener('change', function (e) {
  var file = e.target.files && e.target.files[0];
  if (!file) return;
  // Photos are large: scale to at most 800 px and send as JPEG.
  var img = new Image();
  img.onload = function () {
    var k = Math.min(1, 800 / Math.max(img.width, img.height));
    var c = document.createElement('canvas');
    c.width = Math.round(img.width * k); c.height = Math.round(img.height * k);
    c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
    URL.revokeObjectURL(img.src);
    submit(c.toDataURL('image/jpeg', 0.8), 'thumb_print');
  };
  img.src = URL.createObjectURL(file);
  e.target.value = '';
});

// ---- forms --------------------------------------------------------------------------------
document.querySelectorAll('#follow-up [data-performance]').forEach(function (b) {
  b.addEventListener('click', function () {
    var body = { performance: b.dataset.performance, note: $('#follow-note').value.trim() };
    call('POST', base + '/follow-ups', body).then(function (r) {
      if (!r.ok) return;
      $('#follow-note').value = '';
      GD.toast(GD.tr('follow.saved.' + r.body.action), 'ok');
      load();
    });
  });
});
$('#add-reporter').addEventListener('click', function () {
  call('POST', base + '/parties/reporter', {}).then(function (r) { if (r.ok) { GD.toast(GD.tr('party.added'), 'ok'); load(); } });
});
$('#party-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var body = { role: $('#party-role').value, name: $('#party-name').value.trim() };
  [['phone', '#party-phone'], ['id_number', '#party-id'], ['address', '#party-address']].forEach(function (f) {
    var v = $(f[1]).value.trim();
    if (v) body[f[0]] = v;
  });
  call('POST', base + '/parties', body).then(function (r) {
    if (!r.ok) return;
    $('#party-form').reset();
    $('#party-form-box').open = false;
    GD.toast(GD.tr('party.added'), 'ok');
    load();
  });
});
$('#entry-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var text = $('#entry-text').value.trim();
  if (!text) return;
  call('POST', base + '/record', { text: text, session: Number($('#entry-session').value) || 1 }).then(function (r) {
    if (r.ok) { $('#entry-text').value = ''; load(); }
  });
});
$('#sign-record').addEventListener('click', function () {
  // Parties present sign first, then the mediator, which closes the record.
  var next = current.parties.find(function (p) {
    return !current.record_signatures.some(function (s) { return s.signer.party_id === p.id; });
  });
  var signer = next ? { type: 'party', party_id: next.id } : { type: 'mediator' };
  var title = next ? GD.t('sign.party', { role: GD.t('role.' + next.role), name: next.name }) : GD.t('sign.mediator');
  openPad(title, function (image, mark) {
    return call('POST', base + '/record/signatures', { signer: signer, mark: mark, image: image, text_sha256: current.record_text_sha256 });
  }, current.record.map(function (e) { return e.text; }).join('\n'));
});

var select = $('#template-category');
function fillCategories() {
  select.replaceChildren();
  CATEGORIES.forEach(function (c) { select.appendChild(GD.el('option', { value: c, text: GD.t('cat.' + c) })); });
  if (incident) select.value = incident.category;
}
$('#use-template').addEventListener('click', function () {
  call('GET', '/api/v1/mediator/agreement-templates/' + select.value).then(function (r) {
    if (!r.ok) return;
    template = r.body;
    if (!$('#a-facts').value) $('#a-facts').value = template.facts;
    if (!$('#a-issues').value) $('#a-issues').value = template.issues;
    if (!$('#a-method').value) $('#a-method').value = template.performance_method;
    var box = $('#clauses');
    box.replaceChildren(GD.el('p', { class: 'muted', text: GD.t('agreement.pick') }));
    template.clauses.forEach(function (text, n) {
      var input = GD.el('input', { type: 'checkbox', id: 'clause-' + n, onchange: function () {
        var terms = $('#a-terms').value.split('\n').filter(function (t) { return t.trim(); });
        if (input.checked) terms.push(text); else terms = terms.filter(function (t) { return t !== text; });
        $('#a-terms').value = terms.join('\n');
      } });
      box.appendChild(GD.el('label', { class: 'clause', for: 'clause-' + n }, [input, GD.el('span', { text: text })]));
    });
  });
});
function fillAgreementForm(a) {
  if (!a) return;
  $('#a-facts').value = a.facts; $('#a-issues').value = a.issues; $('#a-resp').value = a.responsibility;
  $('#a-terms').value = a.terms.join('\n'); $('#a-method').value = a.performance_method;
  $('#a-place').value = a.performance_place; $('#a-due').value = a.performance_due || '';
}
$('#agreement-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var body = {
    template: template ? template.category : (current.agreement && current.agreement.template) || undefined,
    facts: $('#a-facts').value, issues: $('#a-issues').value, responsibility: $('#a-resp').value,
    terms: $('#a-terms').value.split('\n').map(function (t) { return t.trim(); }).filter(Boolean),
    performance_method: $('#a-method').value, performance_place: $('#a-place').value
  };
  if ($('#a-due').value) body.performance_due = $('#a-due').value;
  call('PUT', base + '/agreement', body).then(function (r) {
    if (r.ok) { GD.toast(GD.tr('agreement.saved', { n: r.body.number }), 'ok'); load(); }
  });
});

document.querySelectorAll('.doc').forEach(function (button) {
  button.addEventListener('click', function () {
    fetch(base + '/documents/' + button.dataset.doc, { headers: { Authorization: 'Bearer ' + token } }).then(function (resp) {
      if (!resp.ok) return resp.json().then(function (b) { GD.toastError({ code: b.error && b.error.code, message: b.error && b.error.message }); });
      return resp.blob().then(function (blob) {
        var a = GD.el('a', { href: URL.createObjectURL(blob), download: button.dataset.doc });
        document.body.appendChild(a); a.click(); a.remove();
      });
    }, function () { GD.toastError({ status: 0 }); });
  });
});

GD.onLang(function () { if (current) { fillCategories(); render(); } });

if (!token) { $('#signed-out').hidden = false; }
else {
  GD.api('GET', '/api/v1/mediator/incidents', { token: token }).then(function (r) {
    incident = r.ok ? r.body.find(function (i) { return i.id === id; }) || null : null;
    fillCategories();
    return load();
  }).then(function (r) {
    if (r && r.ok) { $('#app').hidden = false; fillAgreementForm(current.agreement); }
  });
}
