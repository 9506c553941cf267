// 分派规则 (the routing table): which kinds of department the command center's call-in panel
// suggests for an incident — rows of categories and keywords → department kinds, added,
// removed and changed here, saved whole over the version read (someone else's save since is
// refused; the table is then reloaded). Part of the Departments tab.
import { call } from './session.js';
import { DEPARTMENT_KINDS } from '../dept_kinds.js';
import { GD, $ } from '../common.js';

GD.strings({
  zh: {
    'rt.title': '分派规则', 'rt.help': '事件属于左边的类别，或描述里有其中一个关键词，就在指挥中心的呼叫面板里建议（并预先勾选）右边类型的部门。红色事件描述里有暴力字眼时，总是先建议派出所。',
    'rt.cats': '事件类别', 'rt.words': '关键词（用逗号或顿号分开）', 'rt.kinds': '建议的部门类型', 'rt.any': '不限类别',
    'rt.add_cat': '＋ 类别', 'rt.add_kind': '＋ 部门类型', 'rt.add': '＋ 添加一条规则', 'rt.remove': '删除', 'rt.save': '保存分派规则',
    'rt.saved': '分派规则已保存（第 {version} 版），新事件立即按它建议', 'rt.version': '第 {version} 版',
    'rt.version0': '配置文件中的默认规则', 'rt.none': '还没有规则', 'rt.reloaded': '别人刚保存过分派规则，已重新载入，请再改一次',
    'rt.drop': '去掉 {name}', 'rt.rule_err': '第 {n} 条规则：{msg}',
    'code.unknown_category': '没有这个事件类别', 'code.unknown_department_kind': '没有这个部门类型',
    'code.rule_matches_nothing': '至少要有一个类别或关键词', 'code.rule_kind_count': '要选 1 到 8 个部门类型',
    'code.too_many_keywords': '关键词最多 30 个', 'code.bad_keyword': '每个关键词 1 到 20 个字', 'code.too_many_rules': '规则最多 100 条'
  },
  en: {
    'rt.title': 'Routing', 'rt.help': 'An incident of a category on the left, or whose description has one of the keywords, gets departments of the kinds on the right suggested (and pre-ticked) in the command center\'s call-in panel. A red incident naming violence always suggests the police station first.',
    'rt.cats': 'Categories', 'rt.words': 'Keywords (separated by commas)', 'rt.kinds': 'Suggested department kinds', 'rt.any': 'Any category',
    'rt.add_cat': '+ Category', 'rt.add_kind': '+ Department kind', 'rt.add': '+ Add a rule', 'rt.remove': 'Remove', 'rt.save': 'Save routing',
    'rt.saved': 'Routing saved (version {version}); new suggestions follow it at once', 'rt.version': 'Version {version}',
    'rt.version0': 'The default from the config file', 'rt.none': 'No rules yet', 'rt.reloaded': 'Someone else just saved the routing; it was reloaded — please make your change again',
    'rt.drop': 'Remove {name}', 'rt.rule_err': 'Rule {n}: {msg}',
    'code.unknown_category': 'no such category', 'code.unknown_department_kind': 'no such department kind',
    'code.rule_matches_nothing': 'needs a category or a keyword', 'code.rule_kind_count': 'needs 1 to 8 department kinds',
    'code.too_many_keywords': 'at most 30 keywords', 'code.bad_keyword': 'each keyword has 1 to 20 characters', 'code.too_many_rules': 'at most 100 rules'
  }
});

const el = GD.el;
/** What was read: { version, rules: [{ categories, keywords, kinds }] }, edited in place. */
let table = null;

export function init() {
  $('#rt-add').addEventListener('click', () => { table.rules.push({ categories: [], keywords: [], kinds: [] }); render(); focusLast(); });
  $('#rt-form').addEventListener('submit', (e) => { e.preventDefault(); save(); });
  GD.onLang(() => { if (table) render(); });
}

export function show() {
  return call('GET', '/api/v1/admin/routing').then((r) => {
    if (!r.ok) return;
    table = r.body;
    $('#rt-error').textContent = '';
    render();
  });
}

function focusLast() {
  const inputs = document.querySelectorAll('#rt-rules .rt-words');
  if (inputs.length) inputs[inputs.length - 1].focus();
}

/** Chips for the chosen `values` (each removable) and a picker adding one of the others. */
function chips(values, all, label, addKey, field) {
  const picker = el('select', { class: 'rt-pick', dataset: { field }, 'aria-label': GD.t(addKey) },
    [el('option', { value: '', text: GD.t(addKey) }),
      ...all.filter((v) => !values.includes(v)).map((v) => el('option', { value: v, text: label(v) }))]);
  picker.addEventListener('change', () => { if (picker.value) { values.push(picker.value); render(); } });
  return el('div', { class: 'rt-chips' }, [
    ...values.map((v) => el('span', { class: 'chip', dataset: { value: v } }, [label(v),
      el('button', { type: 'button', class: 'chip-x', text: '×', 'aria-label': GD.t('rt.drop', { name: label(v) }),
        onclick: () => { values.splice(values.indexOf(v), 1); render(); } })])),
    picker,
  ]);
}

function render() {
  $('#rt-version').textContent = table.version ? GD.t('rt.version', table) : GD.t('rt.version0');
  $('#rt-none').hidden = table.rules.length > 0;
  $('#rt-rules').replaceChildren(...table.rules.map((rule, i) => {
    // Every keyword in view: the box grows with its text (no cut-off list).
    const words = el('textarea', { class: 'rt-words', rows: '1', 'aria-label': GD.t('rt.words'), maxlength: '700' });
    words.value = rule.keywords.join('、');
    const fit = () => { words.style.height = 'auto'; words.style.height = words.scrollHeight + 2 + 'px'; };
    words.addEventListener('input', () => { rule.keywords = words.value.split(/[,，、;；\s]+/).filter((w) => w); fit(); });
    requestAnimationFrame(fit);
    return el('li', { class: 'rt-rule', dataset: { index: String(i) } }, [
      chips(rule.categories, GD.CATEGORIES, (c) => GD.t('cat.' + c), 'rt.add_cat', 'categories'),
      words,
      chips(rule.kinds, DEPARTMENT_KINDS, (k) => GD.t('dk.' + k), 'rt.add_kind', 'kinds'),
      el('button', { type: 'button', class: 'plain small rt-remove', text: GD.t('rt.remove'),
        onclick: () => { table.rules.splice(i, 1); render(); } }),
    ]);
  }));
}

function save() {
  const body = { version: table.version, rules: table.rules };
  call('PUT', '/api/v1/admin/routing', { body }).then((r) => {
    if (r.ok) {
      table = r.body;
      $('#rt-error').textContent = '';
      render();
      GD.toast(GD.tr('rt.saved', { version: r.body.version }), 'ok');
      return;
    }
    if (r.status === 409) {
      show().then(() => { $('#rt-error').textContent = GD.t('rt.reloaded'); });
      return;
    }
    const n = /^rule (\d+):/.exec(r.message || '');
    $('#rt-error').textContent = n ? GD.t('rt.rule_err', { n: n[1], msg: GD.errText(r) }) : GD.errText(r);
    document.querySelectorAll('#rt-rules .rt-rule').forEach((li) => li.classList.toggle('bad', !!n && li.dataset.index === String(n[1] - 1)));
  });
}
