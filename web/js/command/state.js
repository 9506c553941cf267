// What the command-center screen holds, shared by its modules: the session, the map, the
// mediators and incidents it shows, and the names it knows. Modules change these fields in
// place (an ES module's exported bindings are read-only to importers, an object's fields are not).

/** The session and the screen's mutable scalars. */
export const S = {
  token: null,
  /** The Leaflet map, once made. */
  map: null,
  /** The live socket (`GD.LiveSocket`). */
  socket: null,
  /** Fit the map to what is shown until the operator moves it themselves. */
  autoFit: true,
  fitted: false,
  /** The incident whose panel is open, and what the panel last showed. */
  panelId: null,
  panelData: null,
  /** The live socket is open: the screen is current (countdowns run, counters are live). */
  online: false,
  /** What the server says about the signed-in operator (`GET /api/v1/command/me`). */
  session: null,
  /** The work list: its tab and search words. */
  tab: 'escalated',
  query: ''
};

/** id → {lat, lng, at, w (map position), offAt}: mediators on duty, and for a while those gone off duty. */
export const mediators = new Map();
/** id → IncidentView: open ones, plus everything reported today. */
export const incidents = new Map();
/** account id → name. */
export const names = {};
/** incident id → when its alert stops flashing (red alerts not yet acknowledged). */
export const alerts = new Map();
/** id → roster row (`GET /api/v1/command/roster`): every mediator this operator directs. */
export const roster = new Map();

export function isOpen(i) { return i.status !== 'resolved' && i.status !== 'cancelled'; }

/** Test and debugging hook (`window.gdCommand`): read-only views of what the screen holds. */
export const hook = { mediators: mediators, incidents: incidents, names: names, alerts: alerts, roster: roster, S: S };
