// Video mediation across two instances (issue #22): the host's page talks to instance A, the
// party's to instance B (one Redis between them), relayed through a real coturn only. The host
// invites the parties from the room; the party's tracking page (on B) shows the big "join"
// button, which opens the room; both pages report inbound video bytes growing. With Chromium's
// one fake camera "switch camera" is hidden; with two it shows and switches. A cut connection
// shows "reconnecting" until the call is rebuilt. Stats fed through the page's test hook go through
// the same judging as real ones: a weak round trip is said on the bar; too little bandwidth
// turns the party's video off (audio only, said on both pages) and it stops encoding video.
// Screens at 360×740 (the party's phone) and 1366×768 (the host's laptop).
// Args: baseA hostPage baseB trackingToken
import { scenario, context, cuttableSockets, launch, shot, PHONE, WAIT_MS, MEDIA_FLAGS } from './lib.mjs';
import { enter, enterRoom, mediaFlows } from './video_lib.mjs';

const [baseA, hostPage, baseB, tracking] = process.argv.slice(2);
const PHONE_360 = { ...PHONE, viewport: { width: 360, height: 740 } };

/** Wait until `page` decodes more and more video frames from the seat `id`. */
async function framesGrow(page, id, what) {
  const frames = () => page.evaluate((seat) => {
    const r = (window.__video.last || []).find((p) => p.id === seat);
    return r ? r.framesDecoded : 0;
  }, id);
  await page.waitForFunction((seat) => (window.__video.last || []).some((p) => p.id === seat && p.framesDecoded > 0), id, { timeout: 45000 });
  const start = await frames();
  await page.waitForFunction(([seat, n]) => (window.__video.last || []).some((p) => p.id === seat && p.framesDecoded > n + 10),
    [id, start], { timeout: WAIT_MS }).catch(async (e) => { throw new Error(`${what}: ${start} → ${await frames()} frames: ${e.message}`); });
}

await scenario('video-instances', async (browser, errors) => {
  const host = await enter(browser, errors, baseA, hostPage, { viewport: { width: 1366, height: 768 } });
  await host.locator('#invite-party').click();
  await host.locator('#invite-link').waitFor({ state: 'visible', timeout: WAIT_MS });
  console.log('ok: the host invited the parties from the room');

  // The party's tracking page, on the other instance, offers the room.
  const ctx = await context(browser, errors, { ...PHONE_360, permissions: ['camera', 'microphone'] });
  // The party's room socket goes through the test, which can cut it and refuse reconnects.
  const room = await cuttableSockets(ctx, /\/api\/v1\/video\/ws/);
  const party = await ctx.newPage();
  await party.goto(`${baseB}/t/${tracking}`);
  const button = party.locator('#video-enter');
  await button.waitFor({ state: 'visible', timeout: WAIT_MS });
  const href = await button.getAttribute('href');
  if (!/^\/v\/[A-Za-z0-9_-]+$/.test(href || '')) throw new Error(`the button leads to ${href}`);
  await shot(party, 'video-tracking-invitation-360x740');
  console.log('ok: the tracking page shows the join button');
  // lite=1 keeps two browsers' video within two shared cores; the link itself is the page's.
  await party.$eval('#video-enter', (a) => { a.href += '?lite=1'; });
  await button.click();
  await enterRoom(party);

  await mediaFlows(host, 'the host on A', 1);
  await mediaFlows(party, 'the party on B', 1);
  await host.locator('#people li', { hasText: '当事人' }).waitFor({ timeout: WAIT_MS });

  // One fake camera: nothing to switch to.
  for (const [name, page] of [['host', host], ['party', party]]) {
    const cams = await page.evaluate(() => window.__video.cameras());
    if (cams !== 1) throw new Error(`the ${name}'s browser has ${cams} cameras; expected Chromium's one fake camera`);
    if (await page.locator('#switch').isVisible()) throw new Error(`the ${name} is offered to switch a single camera`);
  }
  console.log('ok: with one camera the switch-camera button is hidden');
  await shot(party, 'video-room-360x740');
  await shot(host, 'video-room-1366x768');

  // The party's connection to the service drops and stays down: the bar says it is reconnecting;
  // once it is back, the call is rebuilt and the picture flows again.
  await room.cut();
  await party.locator('#netbar', { hasText: '正在重新连接' }).waitFor({ timeout: WAIT_MS });
  await shot(party, 'video-room-reconnecting-360x740');
  room.restore();
  await party.locator('#netbar').waitFor({ state: 'hidden', timeout: 40000 });
  await mediaFlows(party, 'the party back after reconnecting', 1);
  await mediaFlows(host, 'the host after the party reconnected', 1);
  console.log('ok: a dropped connection shows reconnecting, then the call is rebuilt');

  // A slow round trip: the host is told the network is weak (video stays).
  await host.evaluate(() => window.__video.feedStats({ rttMs: 900 }));
  await host.locator('#netbar', { hasText: '网络较差' }).waitFor({ timeout: WAIT_MS });
  if (await host.evaluate(() => window.__video.state().audioOnly)) throw new Error('a slow round trip turned video off');
  await shot(host, 'video-room-weak-1366x768');
  console.log('ok: a slow round trip shows a weak network');
  await host.evaluate(() => window.__video.feedStats(null));

  // Too little outgoing bandwidth: the party drops to audio only, says so, and stops sending video.
  await party.evaluate(() => window.__video.feedStats({ outKbps: 80 }));
  await party.locator('#netbar', { hasText: '只有声音' }).waitFor({ timeout: WAIT_MS });
  await host.locator('#people li', { hasText: '当事人' }).filter({ hasText: '只有声音' }).waitFor({ timeout: WAIT_MS });
  await party.waitForFunction(() => {
    const h = window.__video.history();
    if (h.length < 2 || !window.__video.state().audioOnly) return false;
    const [before, after] = h.slice(-2);
    // Frames encoded stand still: no video is made, so none goes out.
    return after.length > 0 && after.every((r) => before.some((b) => b.id === r.id && r.videoFramesOut > 0 && b.videoFramesOut === r.videoFramesOut));
  }, null, { timeout: WAIT_MS });
  await host.locator('.tile .novideo', { hasText: '只有声音' }).waitFor({ timeout: WAIT_MS });
  await shot(party, 'video-room-audio-only-360x740');
  await shot(host, 'video-room-audio-only-1366x768');
  console.log('ok: a weak link goes audio only and stops sending video');

  // A phone with two cameras (Chromium's fake devices): "switch camera" shows, switches to the
  // other camera, and the host keeps receiving its video (the track is replaced, no renegotiation).
  const flags = MEDIA_FLAGS.map((f) => (f === '--use-fake-device-for-media-stream' ? `${f}=device-count=2` : f));
  const twoCameras = await launch(flags);
  try {
    await host.locator('#invite-dept').click();
    await host.locator('#invite-hint', { hasText: '专家' }).waitFor({ timeout: WAIT_MS });
    const link = new URL(await host.locator('#invite-link').inputValue());
    const expert = await enter(twoCameras, errors, baseB, link.pathname, PHONE_360);
    // A newcomer hears how the others are: the party's audio only and weak network.
    await expert.locator('#people li', { hasText: '当事人' }).filter({ hasText: '只有声音' }).filter({ hasText: '网络差' })
      .waitFor({ timeout: WAIT_MS });
    const cams = await expert.evaluate(() => window.__video.cameras());
    if (cams !== 2) throw new Error(`the expert's browser has ${cams} cameras; expected 2`);
    await expert.locator('#switch').waitFor({ state: 'visible', timeout: WAIT_MS });
    const expertId = await expert.evaluate(() => window.__video.state().me.id);
    await framesGrow(host, expertId, 'the host sees the expert');
    // Chromium's second fake camera delivers a depth format (Y16) that is not encoded, so the
    // test switches to it and back: the first camera's picture must reach the host again.
    const first = await expert.evaluate(() => window.__video.state().camera);
    await expert.locator('#switch').click();
    await expert.waitForFunction((b) => { const c = window.__video.state().camera; return c && c !== b; }, first, { timeout: WAIT_MS });
    await expert.locator('#switch').click();
    await expert.waitForFunction((b) => window.__video.state().camera === b, first, { timeout: WAIT_MS });
    await framesGrow(host, expertId, 'the host sees the expert after switching there and back');
    await shot(expert, 'video-room-two-cameras-360x740');
    console.log('ok: with two cameras the button switches camera and the host keeps seeing it');
  } finally {
    await twoCameras.close().catch(() => {});
  }

  await host.locator('#end').click();
  await party.locator('#headline', { hasText: '这次视频调解已经结束' }).waitFor({ timeout: WAIT_MS });
  console.log('ok: the session ended on both instances');
}, { args: MEDIA_FLAGS });
