// The case's difficulty grade on the mediator's phone (以案定补): the suggestion with its
// reasons, three big buttons to decide in one tap (简易 / 一般 / 重大疑难), and the amount in
// dispute the suggestion reads. Mounted by casefile.js, which refreshes it with the case file.
import { GD, $ } from './common.js';

GD.strings({
  zh: {
    'grade.title': '案件难度（以案定补）', 'grade.suggested': '建议：{g}', 'grade.because': '依据：{why}',
    'grade.because.none': '两方当事人、无大额争议', 'grade.why.category': '纠纷类别（{cat}）', 'grade.why.parties': '当事人 {n} 人',
    'grade.why.amount': '争议金额 {a} 元', 'grade.decided': '已定级：{g}（{who} {t}）', 'grade.undecided': '尚未定级，点一下选定',
    'grade.by.mediator': '调解员', 'grade.by.operator': '指挥中心', 'grade.by.admin': '管理员', 'grade.tag': '建议',
    'grade.amount': '争议金额（元，选填）', 'grade.amount.save': '保存金额', 'grade.saved': '已定级：{g}', 'grade.amount.saved': '争议金额已保存', 'grade.sep': '、'
  },
  en: {
    'grade.title': 'Difficulty (paid per case)', 'grade.suggested': 'Suggested: {g}', 'grade.because': 'Because: {why}',
    'grade.because.none': 'two parties, no large sum', 'grade.why.category': 'the category ({cat})', 'grade.why.parties': '{n} parties',
    'grade.why.amount': '{a} yuan in dispute', 'grade.decided': 'Graded {g} ({who}, {t})', 'grade.undecided': 'Not graded yet: tap one',
    'grade.by.mediator': 'mediator', 'grade.by.operator': 'command center', 'grade.by.admin': 'admin', 'grade.tag': 'suggested',
    'grade.amount': 'Amount in dispute (yuan, optional)', 'grade.amount.save': 'Save amount', 'grade.saved': 'Graded {g}', 'grade.amount.saved': 'Amount saved', 'grade.sep': ', '
  }
});

var GRADES = ['simple', 'general', 'major_difficult'];

/** Mount the grade card; returns the function that reloads it. */
export function mountGrade(base, call) {
  var state = null;

  function reasons(s) {
    if (!s.reasons.length) return GD.t('grade.because.none');
    return s.reasons.map(function (r) {
      if (r.why === 'parties') return GD.t('grade.why.parties', { n: s.parties });
      if (r.why === 'amount') return GD.t('grade.why.amount', { a: s.amount_in_dispute_yuan });
      return GD.t('grade.why.category', { cat: GD.t('cat.' + s.category) });
    }).join(GD.t('grade.sep'));
  }

  function render() {
    var s = state;
    if (!s) return;
    $('#grade-suggested').textContent = GD.t('grade.suggested', { g: GD.t('grade.' + s.suggested) });
    $('#grade-because').textContent = GD.t('grade.because', { why: reasons(s) });
    $('#grade-decided').textContent = s.grade
      ? GD.t('grade.decided', { g: GD.t('grade.' + s.grade), who: GD.t('grade.by.' + s.decided_by_role), t: GD.fmtTime(s.decided_at) })
      : GD.t('grade.undecided');
    var buttons = $('#grade-buttons');
    buttons.replaceChildren();
    GRADES.forEach(function (g) {
      var chosen = s.grade === g;
      buttons.appendChild(GD.el('button', {
        type: 'button', class: 'big grade ' + (chosen ? 'primary' : 'ghost'), 'data-grade': g, 'aria-pressed': chosen ? 'true' : 'false',
        onclick: function () {
          if (chosen) return;
          call('PUT', base + '/grade', { grade: g }).then(function (r) {
            if (r.ok) { state = r.body; render(); GD.toast(GD.tr('grade.saved', { g: GD.t('grade.' + g) }), 'ok'); }
          });
        }
      }, [
        GD.el('span', { text: GD.t('grade.' + g) }),
        s.suggested === g ? GD.el('small', { class: 'tag', text: GD.t('grade.tag') }) : null
      ]));
    });
    var amount = $('#grade-amount');
    if (document.activeElement !== amount) amount.value = s.amount_in_dispute_yuan == null ? '' : String(s.amount_in_dispute_yuan);
  }

  $('#grade-amount-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var raw = $('#grade-amount').value.trim();
    var yuan = raw === '' ? null : Math.round(Number(raw));
    call('PUT', base + '/amount', { amount_in_dispute_yuan: yuan }).then(function (r) {
      if (r.ok) { state = r.body; render(); GD.toast(GD.tr('grade.amount.saved'), 'ok'); }
    });
  });
  GD.onLang(render);

  return function refresh() {
    return call('GET', base + '/grade').then(function (r) { if (r.ok) { state = r.body; render(); } return r; });
  };
}
