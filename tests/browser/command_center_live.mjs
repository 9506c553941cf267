// (a) An operator opens `/` and sees a mediator marker appear, then move after position updates.
// usage: node command_center_live.mjs <base> <operator_token> <mediator_id> <mediator_token> <lat> <lng>
import { api, context, scenario, shot, WAIT_MS } from './lib.mjs';

const [base, opToken, medId, medToken, lat0, lng0] = process.argv.slice(2);
const lat = Number(lat0), lng = Number(lng0);

await scenario('command-center-live', async (browser, errors) => {
  const ctx = await context(browser, errors, { viewport: { width: 1920, height: 1080 }, acceptDownloads: true });
  const page = await ctx.newPage();
  await page.goto(`${base}/?token=${encodeURIComponent(opToken)}`);
  await page.waitForSelector('#link-state[data-state="open"]', { timeout: WAIT_MS });
  if (page.url().includes('token=')) throw new Error('the token stays in the address bar');
  console.log('ok: the live socket is open');

  await api(base, 'POST', '/api/v1/mediator/duty', { token: medToken, body: { on: true } });
  await api(base, 'POST', '/api/v1/mediator/position', { token: medToken, body: { lat, lng, coord: 'wgs84' } });
  const first = await page.waitForFunction((id) => {
    const m = window.gdCommand.mediators.get(id);
    return m && { lat: m.lat, lng: m.lng };
  }, medId, { timeout: WAIT_MS }).then((h) => h.jsonValue());
  if (Math.abs(first.lat - lat) > 1e-9) throw new Error(`marker at ${JSON.stringify(first)}`);
  await page.waitForFunction(() => document.querySelector('#c-duty').textContent === '1', null, { timeout: WAIT_MS });
  console.log(`ok: the marker appeared at ${first.lat},${first.lng}`);

  const lat2 = lat + 0.004, lng2 = lng + 0.003;
  await api(base, 'POST', '/api/v1/mediator/position', { token: medToken, body: { lat: lat2, lng: lng2, coord: 'wgs84' } });
  await page.waitForFunction(([id, la, ln]) => {
    const m = window.gdCommand.mediators.get(id);
    const p = m && { lat: m.lat, lng: m.lng };
    return p && Math.abs(p.lat - la) < 1e-9 && Math.abs(p.lng - ln) < 1e-9;
  }, [medId, lat2, lng2], { timeout: WAIT_MS });
  console.log(`ok: the marker moved to ${lat2},${lng2}`);

  // A report nearby: it is offered to the mediator and shows in the dispatching list.
  const report = await api(base, 'POST', '/api/v1/reports', {
    body: { location: { lat, lng, coord: 'wgs84' }, category: 'property', description: '物业停水三天，业主聚集在物业办公室', phone: '13812345678', risk: 'yellow' },
  });
  await page.click('#tab-dispatching');
  await page.waitForSelector(`#q-dispatching [data-id="${report.id}"]`, { timeout: WAIT_MS });
  await page.waitForFunction(() => document.querySelector('#c-today').textContent === '1', null, { timeout: WAIT_MS });
  console.log('ok: the new report is in the dispatching list');

  // A third report here and a red one (a knife: triage raises it) right there: it flashes in
  // the queue and on the map, a banner shows, and it comes first; it is a recurring area and a
  // possible duplicate.
  await api(base, 'POST', '/api/v1/reports', {
    body: { location: { lat, lng, coord: 'wgs84' }, category: 'neighbor', description: '楼道堆放杂物', risk: 'blue' },
  });
  const red = await api(base, 'POST', '/api/v1/reports', {
    body: { location: { lat, lng, coord: 'wgs84' }, category: 'neighbor', description: '楼下邻居拿着刀在楼道里喊，说要报复', phone: '13700001111' },
  });
  const redItem = `#q-dispatching [data-id="${red.id}"]`;
  await page.waitForSelector(`${redItem}.alerted`, { timeout: WAIT_MS });
  await page.waitForSelector('#alarm:not([hidden])', { timeout: WAIT_MS });
  const order = await page.$$eval('#q-dispatching .item', (els) => els.map((e) => e.dataset.id));
  if (order[0] !== red.id) throw new Error(`red is not first: ${order}`);
  if (!/红色警情/.test(await page.locator('#alarm').innerText())) throw new Error('no alarm banner text');
  await page.waitForFunction(() => document.querySelectorAll('.pulse-icon').length >= 1, null, { timeout: WAIT_MS });
  console.log('ok: the red report flashes first in the queue, with a banner and a pulsing marker');
  await shot(page, 'command-center-live');

  await page.click(redItem);
  await page.waitForFunction(() => /红色预警/.test((document.querySelector('#panel ol.timeline')?.textContent ?? '')), null, { timeout: WAIT_MS });
  const panel = await page.locator('#panel').innerText();
  if (!/重复上报地区/.test(panel) || !/可能与另一起上报重复/.test(panel)) throw new Error(`panel lacks recurring/duplicate: ${panel}`);
  const stillAlarmed = await page.evaluate((id) => {
    const a = document.querySelector('#alarm');
    return (!a.hidden && a.dataset.id === id) || document.querySelector(`#q-dispatching [data-id="${id}"]`).classList.contains('alerted');
  }, red.id);
  if (stillAlarmed) throw new Error('the alert stays after the operator opened it');
  const text = await page.evaluate(() => document.body.innerText);
  if (/\bev\./.test(text)) throw new Error(`raw event keys on the page: ${text}`);
  console.log('ok: the timeline is translated (no raw ev. keys)');

  // Reveal the phone (audited), raise the colour of another, supervise; hot spots on the map.
  await page.getByRole('button', { name: '查看完整电话' }).click();
  await page.waitForFunction(() => /13700001111/.test(document.querySelector('#panel').textContent)
    && /查看了群众完整电话/.test((document.querySelector('#panel ol.timeline')?.textContent ?? '')), null, { timeout: WAIT_MS });
  console.log('ok: the full phone is shown and the reveal is in the timeline');
  await page.getByRole('button', { name: '显示热点区域' }).click();
  await page.waitForFunction(() => window.gdCommand.hotspots >= 1 && document.querySelector('.hot-label'), null, { timeout: WAIT_MS });
  console.log('ok: the hot-spot layer shows the area');
  await shot(page, 'command-red-panel');

  await page.click('#panel-close');
  await page.getByRole('button', { name: '统计', exact: true }).click();
  await page.waitForFunction(() => /上报总数/.test(document.querySelector('#stats-body').textContent), null, { timeout: WAIT_MS });
  const statsText = await page.locator('#stats-body').innerText();
  if (!/\b3\b/.test(statsText)) throw new Error(`stats: ${statsText}`);
  if (!/协议履行率/.test(statsText) || !/司法确认/.test(statsText)) throw new Error(`stats lack the agreements' figures: ${statsText}`);
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: WAIT_MS }),
    page.getByRole('button', { name: '导出 CSV' }).click(),
  ]);
  if (!/\.csv$/.test(download.suggestedFilename())) throw new Error(`download ${download.suggestedFilename()}`);
  const csvPath = await download.path();
  const { readFileSync } = await import('node:fs');
  const csv = readFileSync(csvPath);
  if (!(csv[0] === 0xef && csv[1] === 0xbb && csv[2] === 0xbf)) throw new Error('the CSV has no BOM');
  const [subsidy] = await Promise.all([
    page.waitForEvent('download', { timeout: WAIT_MS }),
    page.locator('#subsidy-pdf').click(),
  ]);
  if (!/^subsidy-.*\.pdf$/.test(subsidy.suggestedFilename())) throw new Error(`subsidy download ${subsidy.suggestedFilename()}`);
  if (readFileSync(await subsidy.path()).subarray(0, 5).toString() !== '%PDF-') throw new Error('the subsidy report is not a PDF');
  console.log('ok: the 以案定补 subsidy report downloaded as a PDF');
  console.log(`ok: stats shown and CSV downloaded as ${download.suggestedFilename()}`);
  await shot(page, 'command-stats');
});
