// The admin console (/admin) as a district's IT staff uses it on a desktop: upload the areas
// (one outline overlapping its sibling is refused with the reason), create a mediator, import
// a 200-row staff list with 3 bad rows (197 in, 3 reported by row), then a strict import that
// writes nothing, create a QR place by clicking the map and print its poster (and a sheet of
// two), and read the audit log. Screenshots at 1920×1080 and 1366×768.
// usage: node admin_console.mjs <base> <admin_token> <setup_json>
//   setup_json: {"areas": FeatureCollection, "first_phone": number, "click": [lat, lng]}
import { context, scenario, shot, WAIT_MS } from './lib.mjs';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [base, token, setupJson] = process.argv.slice(2);
const setup = JSON.parse(setupJson);
const wait = { timeout: WAIT_MS };
const dir = mkdtempSync(path.join(tmpdir(), 'gd-admin-'));

function file(name, text) {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A staff list as Excel saves it as "CSV UTF-8": a BOM, CRLF; rows 17, 88 and 150 broken. */
function staffCsv(rows, first, bad) {
  let csv = '\ufeff姓名,手机,专长,容量\r\n';
  for (let i = 0; i < rows; i++) {
    const row = i + 2;
    const phone = String(first + i);
    if (row === bad[0]) csv += `错号${i},1380000,邻里纠纷,3\r\n`;
    else if (row === bad[1]) csv += `专长${i},${phone},做饭,3\r\n`;
    else if (row === bad[2]) csv += `重复${i},${first},婚姻家庭,3\r\n`;
    else csv += `导入调解员${i},${phone},邻里纠纷、物业纠纷,2\r\n`;
  }
  return csv;
}

await scenario('admin-console', async (browser, errors) => {
  const ctx = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/admin?token=${encodeURIComponent(token)}#areas`);
  await page.waitForSelector('#view-areas:not([hidden])', wait);
  if (page.url().includes('token=')) throw new Error('the token stays in the address bar');

  // --- areas: upload, see them drawn and named, one refused with the reason -------------------
  await page.setInputFiles('#ar-file', file('areas.geojson', JSON.stringify(setup.areas)));
  await page.waitForSelector('#ar-report li.summary', wait);
  const report = await page.$$eval('#ar-report li', (ls) => ls.map((l) => `${l.className}|${l.textContent}`));
  const ok = report.filter((r) => r.startsWith('ok|')).length;
  const bad = report.filter((r) => r.startsWith('bad|'));
  if (ok !== 3 || bad.length !== 1 || !bad[0].includes('overlaps') || !bad[0].includes('S-BAD')) {
    throw new Error(`upload report: ${report.join(' / ')}`);
  }
  await page.waitForFunction(() => document.querySelectorAll('#area-map .leaflet-overlay-pane path').length === 3, null, wait);
  await page.waitForFunction(() => [...document.querySelectorAll('#area-map .area-label')].map((e) => e.textContent).includes('南关街道'), null, wait);
  const tree = await page.locator('#area-tree').innerText();
  if (!tree.includes('城中区') || !tree.includes('人民街街道')) throw new Error(`tree: ${tree}`);
  console.log(`ok: 3 areas drawn and named, the overlapping one refused (${bad[0].split('|')[1]})`);
  await shot(page, 'admin-areas');

  // --- a mediator by hand ------------------------------------------------------------------
  await page.click('[data-tab=mediators]');
  await page.waitForSelector('#view-accounts:not([hidden])', wait);
  await page.click('#acc-new');
  await page.fill('#ed-name', '陈新调解');
  await page.fill('#ed-phone', setup.new_phone);
  await page.click('#ed-generate');
  await page.check('#ed-specialties input[value=family]');
  await page.fill('#ed-capacity', '4');
  await page.click('#ed-save');
  await page.waitForFunction(() => [...document.querySelectorAll('#acc-table tbody tr')].some((r) => r.textContent.includes('陈新调解')), null, wait);
  const row = await page.locator('#acc-table tbody tr', { hasText: '陈新调解' }).innerText();
  if (!row.includes('婚姻家庭') || !row.includes('4')) throw new Error(`row: ${row}`);
  console.log('ok: the admin created a mediator');

  // --- import: 200 rows, 3 bad --------------------------------------------------------------
  await page.click('#acc-import');
  await page.uncheck('#im-strict');
  await page.setInputFiles('#im-file', file('staff.csv', staffCsv(200, setup.first_phone, [17, 88, 150])));
  await page.click('#im-go');
  await page.waitForSelector('#im-result.bad, #im-result.ok', wait);
  const result = await page.locator('#im-result').innerText();
  const rows = await page.$$eval('#im-errors tbody tr', (trs) => trs.map((t) => [...t.children].map((c) => c.textContent)));
  if (!result.includes('197') || rows.length !== 3 || rows.map((r) => r[0]).join(',') !== '17,88,150') {
    throw new Error(`import: ${result} ${JSON.stringify(rows)}`);
  }
  console.log(`ok: 197 imported, 3 reported (${rows.map((r) => r.join(' ')).join('; ')})`);
  await shot(page, 'admin-import');

  // A strict import with one bad row writes nothing.
  await page.check('#im-strict');
  await page.setInputFiles('#im-file', file('strict.csv', staffCsv(20, setup.first_phone + 1000, [9, -1, -1])));
  await page.click('#im-go');
  await page.waitForFunction(() => document.querySelector('#im-result').textContent.includes('未导入任何账号'), null, wait);
  await page.click('#im-close');
  await page.waitForFunction(() => document.querySelector('#acc-page').textContent.includes('共 198 条'), null, wait);
  console.log('ok: the strict import wrote nothing (198 mediators)');

  // Search on the server: the page count follows.
  await page.fill('#acc-search', '陈新');
  await page.waitForFunction(() => document.querySelectorAll('#acc-table tbody tr').length === 1
    && document.querySelector('#acc-page').textContent.includes('共 1 条'), null, wait);
  await page.fill('#acc-search', '');
  await page.waitForFunction(() => document.querySelectorAll('#acc-table tbody tr').length === 20, null, wait);
  await shot(page, 'admin-console');

  // --- a QR place by clicking the map, and its poster ------------------------------------------
  await page.click('[data-tab=scenes]');
  await page.waitForSelector('#view-scenes:not([hidden])', wait);
  await page.waitForTimeout(0);
  const box = await page.locator('#scene-map').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForFunction(() => document.querySelector('#sc-lat').value !== '', null, wait);
  if (await page.inputValue('#sc-datum') !== 'wgs84') throw new Error('a click on this map is WGS-84');
  await page.fill('#sc-name', '幸福小区3号楼');
  await page.click('#scene-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#scene-list').textContent.includes('幸福小区3号楼'), null, wait);
  // A second place typed in as GCJ-02 (picked on AMap).
  await page.fill('#sc-name', '南关街道办事处门口');
  await page.selectOption('#sc-datum', 'gcj02');
  await page.fill('#sc-lat', String(setup.click[0] + 0.003));
  await page.fill('#sc-lng', String(setup.click[1] + 0.005));
  await page.click('#scene-form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#scene-list li[data-id]').length === 2, null, wait);
  console.log('ok: two QR places created (a map click, typed GCJ-02)');

  const [poster] = await Promise.all([
    ctx.waitForEvent('page'),
    page.locator('#scene-list li', { hasText: '幸福小区3号楼' }).locator('button.print').click(),
  ]);
  await poster.waitForSelector('body[data-ready=true]', wait);
  const words = await poster.locator('.sheet').innerText();
  for (const w of ['扫码反映矛盾纠纷', '紧急情况请拨打110', '幸福小区3号楼']) if (!words.includes(w)) throw new Error(`poster lacks ${w}: ${words}`);
  const qr = await poster.$eval('img.qr', (i) => ({ w: i.naturalWidth, ok: i.complete }));
  if (!qr.ok || qr.w < 50) throw new Error(`QR image: ${JSON.stringify(qr)}`);
  await poster.setViewportSize({ width: 900, height: 1200 });
  await shot(poster, 'admin-poster');
  await poster.emulateMedia({ media: 'print' });
  if (await poster.locator('.toolbar').isVisible()) throw new Error('the toolbar is printed');
  await poster.close();
  console.log('ok: the poster shows the QR code, the place and the words residents need');

  await page.check('#scene-list li[data-id] input >> nth=0');
  await page.check('#scene-list li[data-id] input >> nth=1');
  await page.selectOption('#sc-size', 'a5');
  const [sheet] = await Promise.all([ctx.waitForEvent('page'), page.click('#sc-print-all')]);
  await sheet.waitForSelector('body[data-ready=true]', wait);
  const count = await sheet.locator('.sheet').count();
  const pdf = await sheet.pdf({ preferCSSPageSize: true, printBackground: true });
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  if (count !== 2 || pages !== 2) throw new Error(`sheet: ${count} posters, ${pages} PDF pages`);
  await sheet.close();
  console.log('ok: a sheet of 2 A5 posters prints as 2 pages');
  await shot(page, 'admin-scenes');

  // --- who did what --------------------------------------------------------------------------
  await page.click('[data-tab=audit]');
  await page.waitForFunction(() => document.querySelectorAll('#audit-table tbody tr').length >= 6, null, wait);
  const first = await page.locator('#audit-table tbody tr >> nth=0').innerText();
  if (!first.includes('新建点位') || !first.includes('南关街道办事处门口')) throw new Error(`audit: ${first}`);
  const all = await page.locator('#audit-table').innerText();
  for (const w of ['批量导入', '新建账号', '保存辖区']) if (!all.includes(w)) throw new Error(`audit lacks ${w}`);
  console.log('ok: the audit log lists who did what, newest first');

  // English, and the smaller desk screen.
  await page.click('#lang-toggle');
  await page.click('[data-tab=mediators]');
  await page.waitForFunction(() => document.querySelector('#acc-title').textContent === 'Mediators', null, wait);
  await page.setViewportSize({ width: 1366, height: 768 });
  await shot(page, 'admin-console-1366-en');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`the console is ${overflow}px wider than a 1366 screen`);
  console.log('ok: English at 1366×768 fits');
});
