// Video mediation across two instances (issue #22): the host's page talks to instance A, the
// party's to instance B (one Redis between them), relayed through a real coturn only. The host
// invites the parties from the room; the party's tracking page (on B) shows the big "join"
// button, which opens the room; both pages report inbound video bytes growing. With Chromium's
// one fake camera "switch camera" is hidden. Stats fed through the page's test hook go through
// the same judging as real ones: a weak round trip is said on the bar; too little bandwidth
// turns the party's video off (audio only, said on both pages) and it stops encoding video.
// Screens at 360×740 (the party's phone) and 1366×768 (the host's laptop).
// Args: baseA hostPage baseB trackingToken
import { scenario, context, shot, PHONE, WAIT_MS, MEDIA_FLAGS } from './lib.mjs';
import { enter, enterRoom, mediaFlows } from './video_lib.mjs';

const [baseA, hostPage, baseB, tracking] = process.argv.slice(2);
const PHONE_360 = { ...PHONE, viewport: { width: 360, height: 740 } };

await scenario('video-instances', async (browser, errors) => {
  const host = await enter(browser, errors, baseA, hostPage, { viewport: { width: 1366, height: 768 } });
  await host.locator('#invite-party').click();
  await host.locator('#invite-link').waitFor({ state: 'visible', timeout: WAIT_MS });
  console.log('ok: the host invited the parties from the room');

  // The party's tracking page, on the other instance, offers the room.
  const ctx = await context(browser, errors, { ...PHONE_360, permissions: ['camera', 'microphone'] });
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
  await shot(party, 'video-room-audio-only-360x740');
  console.log('ok: a weak link goes audio only and stops sending video');

  await host.locator('#end').click();
  await party.locator('#headline', { hasText: '这次视频调解已经结束' }).waitFor({ timeout: WAIT_MS });
  console.log('ok: the session ended on both instances');
}, { args: MEDIA_FLAGS });
