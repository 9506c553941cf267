// The mesh of the video room: one RTCPeerConnection per other participant, signaling through
// the room socket. The newcomer offers to everyone already in the room (they answer, creating
// their side on the first offer), so the first negotiation never collides; later ones (ICE
// restarts) follow MDN's "perfect negotiation" (the seat with the smaller id is polite). Observers
// receive only. Quality: every 2 s each connection's stats are read and judged by `quality`
// (thresholds in QUALITY): a slow round trip or some loss is "weak" (said on the page); little
// outgoing bandwidth or heavy loss is "bad", and video.js turns video off (audio only) on it.

/** Mesh(opts): opts.me (seat id), opts.config (RTCConfiguration), opts.local (MediaStream or
 *  null for an observer), opts.send(obj), opts.onTrack(peerId, stream), opts.onState(peerId,
 *  state), opts.onWeak(weak). */
/** Where a link turns weak (shown) or bad (audio only): available outgoing bandwidth, the
 *  fraction of packets the others report lost, the round trip. */
export var QUALITY = { badKbps: 150, badLoss: 0.15, weakLoss: 0.05, weakRttMs: 600 };

export function Mesh(opts) {
  var self = this;
  var peers = {};
  self.config = opts.config;
  self.local = opts.local;
  self.audioOnly = false;

  function Peer(id, initiator) {
    // `settled`: the answering side offers nothing until its first answer is out.
    var p = { id: id, polite: opts.me < id, makingOffer: false, ignoreOffer: false, settled: initiator };
    var pc = p.pc = new RTCPeerConnection(self.config);
    if (self.local) {
      self.local.getTracks().forEach(function (t) { pc.addTrack(t, self.local); });
    } else if (initiator) {
      // An observer's offer asks to receive only (answering, the offer's sections suffice).
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    }
    pc.ontrack = function (ev) {
      var stream = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
      opts.onTrack(id, stream);
    };
    pc.onicecandidate = function (ev) {
      if (ev.candidate) opts.send({ type: 'signal', to: id, candidate: ev.candidate.toJSON() });
    };
    pc.onnegotiationneeded = function () {
      if (!p.settled) return;
      p.makingOffer = true;
      pc.setLocalDescription().then(function () {
        opts.send({ type: 'signal', to: id, description: pc.localDescription.toJSON() });
      }).catch(function (e) { console.warn('offer failed', e); }).then(function () { p.makingOffer = false; });
    };
    pc.onconnectionstatechange = function () {
      opts.onState(id, pc.connectionState);
      if (pc.connectionState === 'failed') restart(p);
    };
    pc.oniceconnectionstatechange = function () {
      if (pc.iceConnectionState === 'disconnected') {
        clearTimeout(p.discTimer);
        p.discTimer = setTimeout(function () { if (pc.iceConnectionState === 'disconnected') restart(p); }, 5000);
      }
    };
    if (self.audioOnly) applyAudioOnly(p, true);
    return p;
  }

  function restart(p) {
    // A restart allocates anew on the TURN server: fresh credentials first.
    Promise.resolve(opts.freshConfig ? opts.freshConfig() : null).then(function (config) {
      if (config) { self.config = config; try { p.pc.setConfiguration(config); } catch (e) { /* same policy only */ } }
      p.pc.restartIce();
    });
  }

  /** Offer to someone already in the room (from the welcome). */
  self.add = function (id) {
    if (peers[id] || id === opts.me) return;
    peers[id] = Peer(id, true);
  };

  /** They left: close their connection. */
  self.remove = function (id) {
    var p = peers[id];
    if (!p) return;
    clearTimeout(p.discTimer);
    p.pc.close();
    delete peers[id];
  };

  /** Close every connection (leaving, or the socket came back and the room is rebuilt). */
  self.closeAll = function () { Object.keys(peers).forEach(self.remove); };

  /** A `signal` from `from`. */
  self.signal = function (msg) {
    var p = peers[msg.from];
    if (!p) {
      // A newcomer's first offer: answer it (its candidates only follow its offer).
      if (!msg.description || msg.description.type !== 'offer') return Promise.resolve();
      p = peers[msg.from] = Peer(msg.from, false);
    }
    var pc = p.pc;
    if (msg.description) {
      var d = msg.description;
      var collision = d.type === 'offer' && (p.makingOffer || pc.signalingState !== 'stable');
      p.ignoreOffer = !p.polite && collision;
      if (p.ignoreOffer) return Promise.resolve();
      return pc.setRemoteDescription(d).then(function () {
        if (d.type !== 'offer') return null;
        return pc.setLocalDescription().then(function () {
          opts.send({ type: 'signal', to: p.id, description: pc.localDescription.toJSON() });
          p.settled = true;
        });
      }).catch(function (e) { console.warn('description failed', e); });
    }
    if (msg.candidate) {
      return pc.addIceCandidate(msg.candidate).catch(function (e) { if (!p.ignoreOffer) console.warn('candidate failed', e); });
    }
    return Promise.resolve();
  };

  /** Replace the outgoing video track everywhere (switch camera) without renegotiating. */
  self.replaceVideo = function (track) {
    Object.keys(peers).forEach(function (id) {
      peers[id].pc.getSenders().forEach(function (s) { if (s.track && s.track.kind === 'video') s.replaceTrack(track); });
    });
  };

  function applyAudioOnly(p, on) {
    p.pc.getSenders().forEach(function (s) {
      if (!s.track || s.track.kind !== 'video') return;
      var params = s.getParameters();
      if (!params.encodings || !params.encodings.length) return;
      params.encodings.forEach(function (e) { e.active = !on; });
      s.setParameters(params).catch(function () { /* before negotiation: applied on the next sample */ });
    });
  }

  /** Send audio only (weak link) or video again. */
  self.setAudioOnly = function (on) {
    self.audioOnly = on;
    Object.keys(peers).forEach(function (id) { applyAudioOnly(peers[id], on); });
  };

  /** Per peer: {id, state, ice, relay, videoBytesIn, framesDecoded, audioBytesIn, videoBytesOut,
   *  videoFramesOut, outKbps, loss, rttMs, limitation}. */
  self.report = function () {
    return Promise.all(Object.keys(peers).map(function (id) {
      var p = peers[id];
      return p.pc.getStats().then(function (stats) {
        var r = { id: id, state: p.pc.connectionState, ice: p.pc.iceConnectionState, relay: false, videoBytesIn: 0,
          framesDecoded: 0, audioBytesIn: 0, videoBytesOut: 0, videoFramesOut: 0, outKbps: null, loss: 0, rttMs: null, limitation: 'none' };
        var byId = {};
        stats.forEach(function (s) { byId[s.id] = s; });
        stats.forEach(function (s) {
          if (s.type === 'transport' && s.selectedCandidatePairId) {
            var pair = byId[s.selectedCandidatePairId];
            var local = pair && byId[pair.localCandidateId];
            r.relay = !!local && local.candidateType === 'relay';
            if (pair && pair.availableOutgoingBitrate) r.outKbps = Math.round(pair.availableOutgoingBitrate / 1000);
            if (pair && typeof pair.currentRoundTripTime === 'number') r.rttMs = Math.round(pair.currentRoundTripTime * 1000);
          }
          if (s.type === 'inbound-rtp' && s.kind === 'video') { r.videoBytesIn += s.bytesReceived || 0; r.framesDecoded += s.framesDecoded || 0; }
          if (s.type === 'inbound-rtp' && s.kind === 'audio') r.audioBytesIn += s.bytesReceived || 0;
          if (s.type === 'remote-inbound-rtp' && typeof s.fractionLost === 'number') r.loss = Math.max(r.loss, s.fractionLost);
          if (s.type === 'outbound-rtp' && s.kind === 'video') {
            r.videoBytesOut += s.bytesSent || 0;
            r.videoFramesOut += s.framesEncoded || 0;
            if (s.qualityLimitationReason) r.limitation = s.qualityLimitationReason;
          }
        });
        return r;
      });
    }));
  };

  /** A connected sample's verdict: 'bad' (under 150 kbit/s available to send, or over 15 % lost:
   *  too little for video), 'weak' (over 5 % lost, or a round trip over 600 ms) or 'good'. */
  self.quality = function (r) {
    if (r.state !== 'connected') return 'good';
    if ((r.outKbps !== null && r.outKbps < QUALITY.badKbps) || r.loss > QUALITY.badLoss) return 'bad';
    if (r.loss > QUALITY.weakLoss || (r.rttMs !== null && r.rttMs > QUALITY.weakRttMs)) return 'weak';
    return 'good';
  };

  self.peers = function () { return Object.keys(peers); };
}
