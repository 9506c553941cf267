// (issue 21) The command center calls departments in (联调联处). First the admin console, at
// 1366×768, creates a labour inspection department and its account, changes its duty number and
// resets the account's password (Chinese and English). Then in
// a wages incident's panel the routing table suggests that department, ticked; the operator adds a second department, writes a note, picks
// "urgent" and sends. The department board (a work-list tab) shows both waiting; one reports in
// (报到, through the API) and its line moves live; the other's deadline passes and the urging mark
// turns its line red, counted on the tab, without a reload. A line opens its incident, from
// whose panel the lead goes to a third department. Then the English toggle, and the same screen
// at 1366×768, nothing wider than its box.
// usage: node command_departments.mjs <base> <admin token> <operator token> <incident> <other dept>
//        <new account's phone> <typed JSON: [note, ack note, new department's name, description,
//        other department's name, a third department's name, account name, operator name, hand-over note]>
import { api, context, scenario, shot, WAIT_MS } from './lib.mjs';

const [base, adminToken, opToken, incident, other, deptPhone, typedJson] = process.argv.slice(2);
const typed = JSON.parse(typedJson);
const CJK = /[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]/;

/** Fail when any element matching `sel` is wider than its box (text cut off or spilling). */
async function fits(page, sel, label) {
  const bad = await page.evaluate((s) => Array.from(document.querySelectorAll(s))
    .filter((e) => e.getClientRects().length > 0 && e.scrollWidth > e.clientWidth + 1)
    .map((e) => `${e.tagName}#${e.id}.${e.className} ${e.scrollWidth}>${e.clientWidth}`), sel);
  if (bad.length) throw new Error(`${label}: wider than its box: ${bad.join(', ')}`);
}
const BOXES = '.tabs, .tabs button, #q-departments, .dept-group, .dept-group h3, #panel, #joint, .ji-head, .ji-dues';

/** Chinese left on screen in the work list and the panel, but for what people typed. */
async function chineseLeft(page) {
  let rest = await page.evaluate(() => document.querySelector('.side').innerText + '\n' + document.querySelector('#panel').innerText);
  for (const s of typed) rest = rest.split(s).join(' ');
  return rest.split('\n').filter((l) => CJK.test(l));
}

/** The console creates the department (and an account of it); returns its id and the account's token. */
async function createInConsole(browser, errors) {
  const admin = await (await context(browser, errors, { viewport: { width: 1366, height: 768 } })).newPage();
  await admin.goto(`${base}/admin?token=${encodeURIComponent(adminToken)}#departments`);
  await admin.locator('#dept-form').waitFor({ timeout: WAIT_MS });
  await admin.locator('#dp-name').fill(typed[2]);
  await admin.locator('#dp-kind').selectOption('labour_inspection');
  await admin.locator('#dp-phone').fill('0971-8234567');
  await admin.getByRole('button', { name: '创建部门', exact: true }).click();
  const row = admin.locator('#dept-table tbody tr', { hasText: typed[2] });
  await row.waitFor({ timeout: WAIT_MS });
  if (!(await row.innerText()).includes('劳动监察')) throw new Error(`the row says ${await row.innerText()}`);
  await admin.locator('#da-form:not([hidden])').waitFor({ timeout: WAIT_MS });
  await admin.locator('#da-name').fill('监察员');
  await admin.locator('#da-phone').fill(deptPhone);
  await admin.locator('#da-generate').click();
  const first = await admin.locator('#da-password').inputValue();
  await admin.getByRole('button', { name: '创建部门账号' }).click();
  await admin.locator('#da-shown', { hasText: first }).waitFor({ timeout: WAIT_MS });
  // Its duty number changes: the picked department's form saves it.
  await admin.locator('#dp-phone').fill('0971-8234568');
  await admin.getByRole('button', { name: '保存', exact: true }).click();
  await admin.locator('#dept-table tbody tr', { hasText: '0971-8234568' }).waitFor({ timeout: WAIT_MS });
  // The account is listed; its password is reset (the first one stops working).
  await admin.locator('#da-list li', { hasText: deptPhone }).getByRole('button', { name: '重置密码' }).click();
  const said = await admin.locator('#da-shown', { hasText: '新密码' }).innerText({ timeout: WAIT_MS });
  const password = /新密码：(\w+)（/.exec(said)[1];
  if (password === first) throw new Error('the password was not reset');
  await shot(admin, 'admin-departments');
  await admin.locator('#lang-toggle').click();
  await admin.locator('#dept-table tbody tr', { hasText: 'Labour inspection' }).waitFor({ timeout: WAIT_MS });
  let rest = await admin.evaluate(() => document.querySelector('#view-departments').innerText);
  for (const s of [...typed, password]) rest = rest.split(s).join(' ');
  const left = rest.split('\n').filter((l) => CJK.test(l));
  if (left.length) throw new Error(`Chinese left in the console after the toggle: ${JSON.stringify(left)}`);
  await shot(admin, 'admin-departments-english');
  await admin.context().close();
  const all = await api(base, 'GET', '/api/v1/admin/departments', { token: adminToken });
  const made = all.find((d) => d.name === typed[2]);
  if (!made || made.kind !== 'labour_inspection' || made.duty_phone !== '0971-8234568') throw new Error(JSON.stringify(all));
  const stale = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: deptPhone, password: first }) });
  if (stale.status !== 401) throw new Error(`the first password still logs in: ${stale.status}`);
  const login = await api(base, 'POST', '/api/v1/auth/login', { body: { phone: deptPhone, password } });
  console.log('ok: the console created a department and its account, changed it and reset the password');
  return [made.id, login.access_token];
}

await scenario('command-departments', async (browser, errors) => {
  const [suggested, deptToken] = await createInConsole(browser, errors);
  const ctx = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/?token=${encodeURIComponent(opToken)}#incident=${incident}`);
  await page.waitForSelector('#link-state[data-state="open"]', { timeout: WAIT_MS });

  // The panel (opened from the address) lists every department, the routing table's suggestion ticked.
  const box = page.locator(`#joint[data-for="${incident}"]`);
  await box.locator(`#ji-d-${suggested}`).waitFor({ timeout: WAIT_MS });
  if (!(await box.locator(`#ji-d-${suggested}`).isChecked())) throw new Error('the suggested department is not ticked');
  if (await box.locator(`#ji-d-${other}`).isChecked()) throw new Error('a department nobody suggested is ticked');
  console.log("ok: the routing table's suggestion is ticked");
  await box.locator(`#ji-d-${other}`).check();
  await box.locator('#ji-note').fill(typed[0]);
  await box.locator('input[name=ji-urgency][value=urgent]').check();
  await box.locator('#ji-note').scrollIntoViewIfNeeded();
  await shot(page, 'command-joint-panel');
  await box.getByRole('button', { name: '呼叫部门' }).click();
  await box.locator('#ji-list li[data-state="called"]').nth(1).waitFor({ timeout: WAIT_MS });
  const list = await api(base, 'GET', `/api/v1/command/incidents/${incident}/call-ins`, { token: opToken });
  const mine = (d) => list.call_ins.find((c) => c.department_id === d);
  for (const d of [suggested, other]) {
    const c = mine(d);
    if (!c || c.urgency !== 'urgent' || c.note !== typed[0]) throw new Error(`not called in as asked: ${JSON.stringify(list)}`);
  }
  const [a, b] = [mine(suggested).id, mine(other).id];
  console.log('ok: two departments called in from the panel');

  // The board: both waiting, grouped by department.
  await page.click('#panel-close');
  await page.click('#tab-departments');
  const line = (id, state) => page.locator(`#q-departments [data-call-in="${id}"][data-state="${state}"]`);
  await line(a, 'waiting').waitFor({ timeout: WAIT_MS });
  await line(b, 'waiting').waitFor({ timeout: WAIT_MS });
  console.log('ok: the board shows both waiting');

  // One reports in (报到) from its own side: its line moves without a reload.
  await api(base, 'POST', `/api/v1/department/call-ins/${a}/acknowledge`, { token: deptToken, body: { note: typed[1] } });
  await line(a, 'acked').waitFor({ timeout: WAIT_MS });
  const acked = await page.locator(`#q-departments [data-department="${suggested}"] [data-count=acked]`).innerText();
  if (!acked.includes('1')) throw new Error(`the department's count says ${acked}`);
  console.log('ok: the report-in shows live');
  await shot(page, 'command-departments-board');

  // The other misses its deadline: the urging mark arrives over the socket, red and counted.
  await line(b, 'overdue').waitFor({ timeout: WAIT_MS });
  await page.locator('#tab-departments.hot #n-departments-over:not([hidden])').waitFor({ timeout: WAIT_MS });
  const over = await page.locator('#n-departments-over').innerText();
  if (over.trim() !== '超时 1') throw new Error(`the tab counts ${over}`);
  if ((await page.locator('#n-departments').innerText()).trim() !== '2') throw new Error('the tab does not count both open call-ins');
  const first = await page.locator('#q-departments .dept-group').first().getAttribute('data-department');
  if (first !== other) throw new Error('the department with an overdue call-in is not first');
  console.log('ok: the overdue call-in turned red live and is counted');
  await shot(page, 'command-departments-overdue');

  // A line opens its incident, whose section shows the overdue mark.
  await line(b, 'overdue').click();
  await page.locator(`#joint[data-for="${incident}"] #ji-list li[data-call-in="${b}"][data-overdue="ack"]`).waitFor({ timeout: WAIT_MS });
  await page.locator(`#joint[data-for="${incident}"] #ji-list li[data-call-in="${a}"][data-state="acknowledged"]`).waitFor({ timeout: WAIT_MS });
  console.log('ok: a line opens its incident with the call-ins and their deadlines');

  // From the same panel the lead is handed over to a third department (移交主办).
  const court = (await api(base, 'GET', '/api/v1/command/departments', { token: opToken })).find((d) => d.name === typed[5]).id;
  await box.locator(`#ji-d-${court}`).check();
  await box.locator('#ji-handover').check();
  await box.locator('#ji-note').fill(typed[8]);
  await box.getByRole('button', { name: '呼叫部门' }).click();
  await box.locator(`#ji-list li[data-call-in]`).nth(2).waitFor({ timeout: WAIT_MS });
  const handed = (await api(base, 'GET', `/api/v1/command/incidents/${incident}/call-ins`, { token: opToken }))
    .call_ins.find((c) => c.department_id === court);
  if (!handed || handed.purpose !== 'handover' || handed.note !== typed[8]) throw new Error(`not handed over: ${JSON.stringify(handed)}`);
  await box.locator(`#ji-list li[data-call-in="${handed.id}"]`, { hasText: '移交主办' }).waitFor({ timeout: WAIT_MS });
  console.log('ok: the lead handed over to a department from the panel');
  await fits(page, BOXES, '1920 zh');
  await shot(page, 'command-departments-panel');

  await page.locator('#lang-toggle').click();
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await page.locator('#tab-departments', { hasText: 'Departments' }).waitFor({ timeout: WAIT_MS });
  await page.locator('#joint h3', { hasText: 'Call in departments' }).waitFor({ timeout: WAIT_MS });
  const left = await chineseLeft(page);
  if (left.length) throw new Error(`Chinese left after the toggle: ${JSON.stringify(left)}`);
  await fits(page, BOXES, '1920 en');
  await shot(page, 'command-departments-english');
  console.log('ok: English on the board and in the panel');

  await page.setViewportSize({ width: 1366, height: 768 });
  await fits(page, BOXES, '1366 en');
  await shot(page, 'command-departments-1366-en');
  await page.locator('#lang-toggle').click();
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  await fits(page, BOXES, '1366 zh');
  await page.click('#panel-close');
  await shot(page, 'command-departments-1366');
  console.log('ok: 1366×768 in both languages');
});
