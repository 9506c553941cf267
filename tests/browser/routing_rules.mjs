// (issue 21) 分派规则 in the console: at 1366×768 an admin adds a rule to the routing table —
// a keyword → a department kind — and saves it (Chinese, then English). Then an operator opens an
// incident whose description has that keyword, and the command center's call-in panel suggests
// (pre-ticks) the department of that kind, and no other. A save over another admin's is refused
// and the table reloaded.
// usage: node routing_rules.mjs <base> <admin token> <operator token> <incident> <suggested dept>
//        <other dept> <keyword>
import { api, context, scenario, shot, WAIT_MS } from './lib.mjs';

const [base, adminToken, opToken, incident, suggested, other, keyword] = process.argv.slice(2);
const CJK = /[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]/;
const LAPTOP = { viewport: { width: 1366, height: 768 } };

/** Fail when any element matching `sel` is wider than its box (text cut off or spilling). */
async function fits(page, sel, label) {
  const bad = await page.evaluate((s) => Array.from(document.querySelectorAll(s))
    .filter((e) => e.getClientRects().length > 0 && e.scrollWidth > e.clientWidth + 1)
    .map((e) => `${e.tagName}#${e.id}.${e.className} ${e.scrollWidth}>${e.clientWidth}`), sel);
  if (bad.length) throw new Error(`${label}: wider than its box: ${bad.join(', ')}`);
}
const BOXES = '#rt-form, .rt-rule, .rt-chips, .chip, .rt-head, #rt-form .actions';

await scenario('routing-rules', async (browser, errors) => {
  const admin = await (await context(browser, errors, LAPTOP)).newPage();
  await admin.goto(`${base}/admin?token=${encodeURIComponent(adminToken)}#departments`);
  await admin.locator('#rt-rules li').first().waitFor({ timeout: WAIT_MS });
  const before = await admin.locator('#rt-rules li').count();
  if ((await admin.locator('#rt-version').innerText()).trim() !== '第 1 版') throw new Error('not the seeded table');
  await admin.getByRole('button', { name: '＋ 添加一条规则' }).click();
  const row = admin.locator('#rt-rules li').nth(before);
  await row.locator('.rt-words').fill(keyword);
  await row.locator('.rt-pick[data-field=kinds]').selectOption('housing');
  await row.locator('.chip[data-value=housing]', { hasText: '住建房管' }).waitFor({ timeout: WAIT_MS });
  // A rule without a kind is refused, named by its number, and nothing is saved.
  await admin.getByRole('button', { name: '＋ 添加一条规则' }).click();
  await admin.locator('#rt-rules li').nth(before + 1).locator('.rt-words').fill('临时');
  await admin.getByRole('button', { name: '保存分派规则' }).click();
  await admin.locator('#rt-error', { hasText: `第 ${before + 2} 条规则：要选 1 到 8 个部门类型` }).waitFor({ timeout: WAIT_MS });
  await admin.locator(`#rt-rules li.bad[data-index="${before + 1}"]`).waitFor({ timeout: WAIT_MS });
  await admin.locator('#rt-rules li').nth(before + 1).getByRole('button', { name: '删除' }).click();
  await admin.getByRole('button', { name: '保存分派规则' }).click();
  await admin.locator('#rt-version', { hasText: '第 2 版' }).waitFor({ timeout: WAIT_MS });
  const saved = await api(base, 'GET', '/api/v1/admin/routing', { token: adminToken });
  const last = saved.rules[saved.rules.length - 1];
  if (saved.rules.length !== before + 1 || last.keywords.join() !== keyword || last.kinds.join() !== 'housing') {
    throw new Error(`not saved as edited: ${JSON.stringify(saved)}`);
  }
  console.log('ok: the admin added a keyword → department kind rule and saved it');
  await row.scrollIntoViewIfNeeded();
  await fits(admin, BOXES, 'zh');
  await shot(admin, 'admin-routing');
  await admin.locator('#lang-toggle').click();
  await admin.locator('#rt-version', { hasText: 'Version 2' }).waitFor({ timeout: WAIT_MS });
  await row.locator('.chip[data-value=housing]', { hasText: 'Housing' }).waitFor({ timeout: WAIT_MS });
  const left = (await admin.locator('#rt-form').innerText()).split('\n').filter((l) => CJK.test(l));
  if (left.length) throw new Error(`Chinese left in the routing section after the toggle: ${JSON.stringify(left)}`);
  await fits(admin, BOXES, 'en');
  await shot(admin, 'admin-routing-english');
  console.log('ok: the routing section in English at 1366×768');
  // Another admin saves meanwhile: this one's save is refused, the table reloaded, nothing lost of theirs.
  await admin.locator('#rt-rules li').nth(before).getByRole('button', { name: 'Remove', exact: true }).click();
  await api(base, 'PUT', '/api/v1/admin/routing', { token: adminToken, body: { version: saved.version, rules: saved.rules } });
  await admin.getByRole('button', { name: 'Save routing' }).click();
  await admin.locator('#rt-error', { hasText: 'Someone else just saved' }).waitFor({ timeout: WAIT_MS });
  await admin.locator('#rt-version', { hasText: 'Version 3' }).waitFor({ timeout: WAIT_MS });
  if (await admin.locator('#rt-rules li').count() !== before + 1) throw new Error('the reloaded table is not the one saved');
  console.log("ok: a save over someone else's is refused and the table reloaded");
  await admin.context().close();

  const page = await (await context(browser, errors, LAPTOP)).newPage();
  await page.goto(`${base}/?token=${encodeURIComponent(opToken)}#incident=${incident}`);
  await page.waitForSelector('#link-state[data-state="open"]', { timeout: WAIT_MS });
  const box = page.locator(`#joint[data-for="${incident}"]`);
  await box.locator(`#ji-d-${suggested}`).waitFor({ timeout: WAIT_MS });
  if (!(await box.locator(`#ji-d-${suggested}`).isChecked())) throw new Error('the department the new rule suggests is not ticked');
  if (await box.locator(`#ji-d-${other}`).isChecked()) throw new Error('a department nobody suggested is ticked');
  await box.locator(`#ji-d-${suggested}`).scrollIntoViewIfNeeded();
  await shot(page, 'command-routing-suggested');
  console.log('ok: the operator sees the department the new rule suggests ticked');
});
