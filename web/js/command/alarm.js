// Red alerts: a flashing banner over the map until the operator opens or acknowledges it (the
// pulsing marker and the queue item follow the same list). No sound.
import { GD, $ } from '../common.js';
import { incidents, alerts } from './state.js';
import { isAlerting, drawIncident } from './map.js';
import { queueRender } from './queues.js';
import { openPanel } from './panel.js';

function pendingAlerts() {
  var now = Date.now(), list = [];
  alerts.forEach(function (until, id) {
    var i = incidents.get(id);
    if (!i || until <= now || !isAlerting(i)) return;
    list.push(i);
  });
  return list.sort(GD.urgentFirst);
}
export function renderAlarm() {
  var list = pendingAlerts(), box = $('#alarm');
  box.hidden = list.length === 0;
  if (!list.length) return;
  var i = list[0];
  var desc = i.description.length > 40 ? i.description.slice(0, 40) + '…' : i.description;
  $('#alarm-text').textContent = GD.t('alarm.text', { cat: GD.t('cat.' + i.category), desc: desc });
  $('#alarm-more').textContent = list.length > 1 ? GD.t('alarm.more', { n: list.length - 1 }) : '';
  box.dataset.id = i.id;
}
export function acknowledge(id) {
  if (!alerts.has(id)) return;
  alerts.delete(id);
  var i = incidents.get(id);
  if (i) drawIncident(i);
  renderAlarm();
  queueRender();
}
$('#alarm-open').addEventListener('click', function () { var id = $('#alarm').dataset.id; if (id) openPanel(id); });
$('#alarm-ack').addEventListener('click', function () { var id = $('#alarm').dataset.id; if (id) acknowledge(id); });

// Alerts lapse after a while even when nobody acknowledged them.
setInterval(function () {
  var now = Date.now(), lapsed = false;
  alerts.forEach(function (until, id) { if (until <= now) { alerts.delete(id); lapsed = true; var i = incidents.get(id); if (i) drawIncident(i); } });
  if (lapsed) { renderAlarm(); queueRender(); }
}, 1000);
