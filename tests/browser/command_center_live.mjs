// (a) An operator opens `/` and sees a mediator marker appear, then move after position updates.
// usage: node command_center_live.mjs <base> <operator_token> <mediator_id> <mediator_token> <lat> <lng>
import { api, context, scenario, shot, WAIT_MS } from './lib.mjs';

const [base, opToken, medId, medToken, lat0, lng0] = process.argv.slice(2);
const lat = Number(lat0), lng = Number(lng0);

await scenario('command-center-live', async (browser, errors) => {
  const ctx = await context(browser, errors, { viewport: { width: 1920, height: 1080 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/?token=${encodeURIComponent(opToken)}`);
  await page.waitForSelector('#link-state[data-state="open"]', { timeout: WAIT_MS });
  if (page.url().includes('token=')) throw new Error('the token stays in the address bar');
  console.log('ok: the live socket is open');

  await api(base, 'POST', '/api/v1/mediator/duty', { token: medToken, body: { on: true } });
  await api(base, 'POST', '/api/v1/mediator/position', { token: medToken, body: { lat, lng, coord: 'wgs84' } });
  const first = await page.waitForFunction((id) => {
    const m = window.gdCommand.mediators.get(id);
    return m && { lat: m.marker.getLatLng().lat, lng: m.marker.getLatLng().lng };
  }, medId, { timeout: WAIT_MS }).then((h) => h.jsonValue());
  if (Math.abs(first.lat - lat) > 1e-9) throw new Error(`marker at ${JSON.stringify(first)}`);
  await page.waitForFunction(() => document.querySelector('#c-duty').textContent === '1', null, { timeout: WAIT_MS });
  console.log(`ok: the marker appeared at ${first.lat},${first.lng}`);

  const lat2 = lat + 0.004, lng2 = lng + 0.003;
  await api(base, 'POST', '/api/v1/mediator/position', { token: medToken, body: { lat: lat2, lng: lng2, coord: 'wgs84' } });
  await page.waitForFunction(([id, la, ln]) => {
    const m = window.gdCommand.mediators.get(id);
    const p = m && m.marker.getLatLng();
    return p && Math.abs(p.lat - la) < 1e-9 && Math.abs(p.lng - ln) < 1e-9;
  }, [medId, lat2, lng2], { timeout: WAIT_MS });
  console.log(`ok: the marker moved to ${lat2},${lng2}`);

  // A report nearby: it is offered to the mediator and shows in the dispatching list.
  const report = await api(base, 'POST', '/api/v1/reports', {
    body: { location: { lat, lng, coord: 'wgs84' }, category: 'property', description: '物业停水三天，业主聚集在物业办公室', phone: '13812345678', risk: 'yellow' },
  });
  await page.waitForSelector(`#q-disp [data-id="${report.id}"]`, { timeout: WAIT_MS });
  await page.waitForFunction(() => document.querySelector('#c-today').textContent === '1', null, { timeout: WAIT_MS });
  console.log('ok: the new report is in the dispatching list');
  await shot(page, 'command-center-live');
});
