// (d) Jurisdictions on the big screen: a district operator sees the area outlines, drills into a
// street (the queue and counters narrow to it), walks the breadcrumb back up, hands an incident
// down and up the ladder from the panel and transfers it, and reads the per-area statistics.
// The district (two streets, four communities, three grids) is made by the Rust test.
// usage: node areas_ladder.mjs <base> <district_operator_token> <areas_json>
//   areas_json: {"S1": {"name", "lat", "lng"}, …} points inside areas, and "reports": [[lat, lng], …]
import { api, context, scenario, shot, WAIT_MS } from './lib.mjs';

const [base, opToken, setupJson] = process.argv.slice(2);
const setup = JSON.parse(setupJson);
const wait = { timeout: WAIT_MS };

await scenario('areas-ladder', async (browser, errors) => {
  const ctx = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/?token=${encodeURIComponent(opToken)}`);
  await page.waitForSelector('#link-state[data-state="open"]', wait);

  // Outlines: one SVG path per area, under everything; the street names are labelled.
  await page.waitForFunction((n) => document.querySelectorAll('.leaflet-areas-pane path').length === n, setup.features, wait);
  await page.waitForFunction(() => document.querySelectorAll('.leaflet-areaLabels-pane .area-label').length >= 2, null, wait);
  const labels = await page.$$eval('.area-label', (els) => els.map((e) => e.textContent));
  for (const s of ['S1', 'S2']) if (!labels.includes(setup[s].name)) throw new Error(`no label ${setup[s].name}: ${labels}`);
  const crumbs = await page.locator('#crumbs').innerText();
  if (!crumbs.includes(setup.D.name)) throw new Error(`breadcrumb: ${crumbs}`);
  console.log(`ok: ${setup.features} outlines drawn, streets labelled (${labels.join(', ')})`);

  // Reports in both streets: nobody on duty, so each goes at once to its street's command center.
  const ids = [];
  for (const [lat, lng] of setup.reports) {
    const r = await api(base, 'POST', '/api/v1/reports', {
      body: { location: { lat, lng, coord: 'wgs84' }, category: 'neighbor', description: '邻居装修噪音，多次沟通未果', risk: 'yellow' },
    });
    ids.push(r.id);
  }
  const [inS1a, inS1b, inS2] = ids;
  for (const id of ids) await page.waitForSelector(`#q-escalated [data-id="${id}"]`, wait);
  await page.waitForFunction(() => document.querySelector('#c-today').textContent === '3', null, wait);
  const item = `#q-escalated [data-id="${inS1a}"]`;
  await page.waitForFunction(([sel, street, community]) => {
    const el = document.querySelector(sel);
    return el && el.querySelector('.flag.ladder').textContent === '街道指挥中心'
      && el.textContent.includes(street) && el.textContent.includes(community);
  }, [item, setup.S1.name, setup['S1-C1'].name], wait);
  console.log('ok: the queue shows each incident on the ladder (街道指挥中心) with its street and community');
  await shot(page, 'command-areas');

  // Drill into street 1 by clicking inside it on the map (away from the markers).
  const box = await page.locator('#map').boundingBox();
  const at = await page.evaluate(([lat, lng]) => window.gdCommand.point(lat, lng), [setup.S1.lat, setup.S1.lng]);
  await page.mouse.click(box.x + at.x, box.y + at.y);
  await page.waitForFunction((name) => document.querySelector('#crumbs .here')?.textContent === name, setup.S1.name, wait);
  await page.waitForFunction(([a, b, c]) => document.querySelector(`#q-escalated [data-id="${a}"]`)
    && document.querySelector(`#q-escalated [data-id="${b}"]`) && !document.querySelector(`#q-escalated [data-id="${c}"]`)
    && document.querySelector('#n-escalated').textContent === '2'
    && document.querySelector('#c-today').textContent === '2', [inS1a, inS1b, inS2], wait);
  await page.waitForFunction((n) => {
    const l = [...document.querySelectorAll('.area-label')].map((e) => e.textContent);
    return l.includes(n);
  }, setup['S1-C1'].name, wait);
  console.log(`ok: drilled into ${setup.S1.name}: the queue and counters show only its 2 incidents`);
  await shot(page, 'command-drill-street');

  // Down to a community from the breadcrumb's list, then back to the top by its first crumb.
  await page.selectOption('#crumb-next', 'S1-C1');
  await page.waitForFunction(([a, b]) => document.querySelector(`#q-escalated [data-id="${a}"]`)
    && !document.querySelector(`#q-escalated [data-id="${b}"]`), [inS1a, inS1b], wait);
  await page.locator('#crumbs button.crumb', { hasText: setup.D.name }).click();
  await page.waitForFunction(() => document.querySelector('#n-escalated').textContent === '3'
    && !document.querySelector('#crumbs .filtered'), null, wait);
  console.log('ok: the breadcrumb picks a community and goes back up to the whole district');

  // The ladder from the panel: down to the community, up to the street, up to the district.
  await page.click(item);
  const current = () => page.locator('#panel .ladder-steps .current').innerText();
  await page.waitForFunction(() => document.querySelector('#panel .ladder-steps .current')?.dataset.level === 'street', null, wait);
  const where = await page.locator('#panel .where').innerText();
  if (!where.includes(setup.S1.name) || !where.includes(setup['S1-C1'].name)) throw new Error(`panel area: ${where}`);
  const hand = async (dir, note, level, sentence) => {
    await page.getByLabel('交办说明（必填，记入处置经过）').fill(note);
    await page.click(dir === 'up' ? '#ho-up' : '#ho-down');
    await page.waitForFunction(([lv, id]) => document.querySelector('#panel .ladder-steps .current')?.dataset.level === lv
      && document.querySelector(`#q-escalated [data-id="${id}"] .flag.ladder`)?.dataset.ladder === lv, [level, inS1a], wait);
    await page.waitForFunction((t) => (document.querySelector('#panel ol.timeline')?.textContent ?? '').includes(t), sentence, wait);
  };
  await hand('down', '请社区先行调解', 'community', '交社区处理：请社区先行调解');
  console.log(`ok: handed down; the panel and the queue say ${await current()} without a reload`);
  await shot(page, 'command-ladder-down');
  await hand('up', '社区调解不成', 'street', '上报至街道指挥中心：社区调解不成');
  await hand('up', '涉及多个街道', 'district', '上报至区指挥中心：涉及多个街道');
  if (await page.locator('#ho-up').count()) throw new Error('hand up is offered at the top of the ladder');
  console.log('ok: handed up twice to the district; hand-up is then gone');

  // Transfer: search the list of areas by name, pick one, give a reason.
  await page.click('#tr-box summary');
  await page.getByLabel('搜索区域名称').fill(setup['S2-C2'].name.slice(0, 3));
  await page.waitForFunction(() => document.querySelector('#tr-area').options.length >= 1, null, wait);
  await page.selectOption('#tr-area', 'S2-C2');
  await page.getByLabel('转交说明（必填）').fill('实际位置在对面小区');
  await shot(page, 'command-transfer');
  await page.click('#tr-send');
  const moved = `转至 ${setup['S2-C2'].name}（原 ${setup.from}）：实际位置在对面小区`;
  await page.waitForFunction((t) => (document.querySelector('#panel ol.timeline')?.textContent ?? '').includes(t), moved, wait);
  await page.waitForFunction(([id, name]) => document.querySelector(`#q-escalated [data-id="${id}"]`)?.textContent.includes(name),
    [inS1a, setup['S2-C2'].name], wait);
  console.log(`ok: transferred: "${moved}"`);
  await shot(page, 'command-ladder-panel');

  // English: the ladder and the timeline are translated.
  await page.click('#lang-toggle');
  await page.waitForFunction(() => /Handed down to the community/.test((document.querySelector('#panel ol.timeline')?.textContent ?? ''))
    && /district command center/.test(document.querySelector('#panel .ladder-steps .current').textContent), null, wait);
  await page.click('#lang-toggle');
  await page.waitForFunction(() => /交社区处理/.test((document.querySelector('#panel ol.timeline')?.textContent ?? '')), null, wait);
  console.log('ok: the ladder and its timeline entries have English');

  // The month's figures per street and community.
  await page.click('#panel-close');
  await page.getByRole('button', { name: '统计', exact: true }).click();
  await page.waitForSelector('#stats-areas', wait);
  const rows = await page.$$eval('#stats-areas tbody tr', (trs) => trs.map((tr) => [tr.dataset.code, ...[...tr.cells].map((c) => c.textContent)]));
  const row = (code) => rows.find((r) => r[0] === code);
  if (!row('S1') || row('S1')[2] !== '1' || !row('S2') || row('S2')[2] !== '2') throw new Error(`per-area rows: ${JSON.stringify(rows)}`);
  if (!row('S2-C2') || !row('S1-C2') || !row('S1-C1') || row('S1-C1')[2] !== '0') throw new Error(`community rows: ${JSON.stringify(rows)}`);
  console.log(`ok: statistics per street and community (${rows.length} rows)`);
  await shot(page, 'command-stats-areas');
});
