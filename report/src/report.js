/* distlab failure report: draws the run embedded in #report-data. No dependencies, no network.
 * The timeline is one <canvas> that draws only the visible window (events found by binary search
 * on time); the log table is a virtual list. Both stay responsive at 50 000 RPCs. */
(function () {
  'use strict';
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmtInt(n) { return Number(n).toLocaleString('en-US'); }
  function fmtDur(ns) {
    var a = Math.abs(ns);
    if (a < 1e3) return ns.toFixed(0) + ' ns';
    if (a < 1e6) return (ns / 1e3).toFixed(1) + ' µs';
    if (a < 1e9) return (ns / 1e6).toFixed(a < 1e7 ? 2 : 1) + ' ms';
    return (ns / 1e9).toFixed(3) + ' s';
  }
  function fmtAt(ns) { return (ns / 1e6).toFixed(3) + ' ms'; }
  function fmtBytes(b) {
    if (b < 1024) return b + ' B';
    if (b < 1048576) return (b / 1024).toFixed(1) + ' KB';
    return (b / 1048576).toFixed(1) + ' MB';
  }
  /* First index i in sorted arr with arr[i] >= v. */
  function lowerBound(arr, v, n) {
    var lo = 0, hi = n === undefined ? arr.length : n;
    while (lo < hi) { var mid = (lo + hi) >>> 1; if (arr[mid] < v) lo = mid + 1; else hi = mid; }
    return lo;
  }
  /* First index i in sorted rows (by row[0]) with rows[i][0] > v. */
  function upperRows(rows, v) {
    var lo = 0, hi = rows.length;
    while (lo < hi) { var mid = (lo + hi) >>> 1; if (rows[mid][0] <= v) lo = mid + 1; else hi = mid; }
    return lo;
  }

  var PALETTE = ['#1c7ed6', '#e8590c', '#2f9e44', '#ae3ec9', '#c2255c', '#0c8599', '#5c940d', '#7048e8',
    '#d6336c', '#1098ad', '#f08c00', '#495057'];
  var ROLE_COLORS = { leader: '#2b8a3e', candidate: '#f08c00', follower: '#9fb3cc' };
  var ROLE_TEXT = { leader: '#ffffff', candidate: '#ffffff', follower: '#1d2d44' };
  var FATES = ['delivered', 'request dropped', 'reply dropped', 'unreachable', 'server dead', 'error'];
  var LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
  var TOPICS = ['rpc', 'log', 'state', 'fault', 'op', 'note'];
  /* Entry kinds in the log table, and their topics. */
  var K_RPC = 0, K_LOG = 1, K_STATE = 2, K_FAULT = 3, K_LIFE = 4, K_OP = 5, K_NOTE = 6, K_VERDICT = 7;
  var KIND_TOPIC = [0, 1, 2, 3, 3, 4, 5, 4];
  var C = {
    req: 'rgba(52, 78, 140, 0.80)', rep: 'rgba(116, 143, 200, 0.70)', delayed: '#f76707', drop: '#e03131',
    unreach: '#c2255c', dead: '#a61e4d', err: '#9c36b5', grid: '#eef1f4', axis: '#5f6b7a',
    crashFill: 'rgba(224, 49, 49, 0.10)', crashLine: 'rgba(224, 49, 49, 0.55)', cutFill: 'rgba(247, 103, 7, 0.10)',
    faultLine: 'rgba(174, 62, 201, 0.35)', sel: '#7048e8', cursor: 'rgba(29, 36, 48, 0.45)'
  };
  var SANS = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, "DejaVu Sans", sans-serif';
  var MONO = 'ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace';

  function roleColor(role) { return ROLE_COLORS[String(role).toLowerCase()] || '#ced4da'; }
  function opColor(desc) {
    var d = String(desc).toLowerCase();
    if (d.indexOf('get') === 0) return '#4c6ef5';
    if (d.indexOf('put') === 0) return '#12b886';
    if (d.indexOf('append') === 0) return '#7950f2';
    return '#868e96';
  }

  function main() {
    var started = performance.now();
    var D = JSON.parse($('report-data').textContent);
    if (!D || D.v !== 1) throw new Error('unsupported report data version ' + (D && D.v));
    var meta = D.meta, NODES = D.nodes, STR = D.strs;
    var nN = NODES.length;
    var END = Math.max(meta.end || 0, 1);
    var CLOCK = meta.backend === 'real' ? 'time (wall clock)' : 'time (virtual)';

    /* ---------- decode ---------- */
    var R = D.rpc, nR = R.t.length;
    var rT = new Float64Array(nR), rDone = new Float64Array(nR), rFrom = new Int32Array(nR), rTo = new Int32Array(nR);
    var rM = new Int32Array(nR), rFate = new Uint8Array(nR), rBytes = new Float64Array(nR), rDel = new Uint8Array(nR);
    var maxDur = 0, fateCount = [0, 0, 0, 0, 0, 0], delayedCount = 0, totalBytes = 0, acc = 0;
    var sent = new Int32Array(nN), recv = new Int32Array(nN);
    for (var i = 0; i < nR; i++) {
      acc += R.t[i];
      rT[i] = acc; rDone[i] = acc + R.dur[i]; rFrom[i] = R.from[i]; rTo[i] = R.to[i]; rM[i] = R.m[i];
      rFate[i] = R.fate[i]; rBytes[i] = R.bytes[i]; rDel[i] = R.delayed[i];
      if (R.dur[i] > maxDur) maxDur = R.dur[i];
      fateCount[rFate[i]]++; delayedCount += rDel[i]; totalBytes += rBytes[i];
      sent[rFrom[i]]++; recv[rTo[i]]++;
    }
    var stateBy = NODES.map(function () { return []; });
    D.state.forEach(function (s) { stateBy[s[1]].push(s); });
    /* Crash intervals: from a crash to the next start of a node of the same name. */
    var down = NODES.map(function () { return []; });
    var openCrash = {};
    D.life.forEach(function (l) {
      if (l[2] === 0) { if (openCrash[l[1]] === undefined) openCrash[l[1]] = l[0]; }
      else if (openCrash[l[1]] !== undefined) { down[l[1]].push([openCrash[l[1]], l[0], false]); delete openCrash[l[1]]; }
    });
    Object.keys(openCrash).forEach(function (k) { down[k].push([openCrash[k], END, true]); });
    /* Disconnections, from fault texts that name nodes: "disconnect X" .. "connect X". */
    var cut = NODES.map(function () { return []; });
    var openCut = {};
    var nodeByName = {};
    NODES.forEach(function (n, ix) { nodeByName[n] = ix; });
    var faultBad = [];
    D.fault.forEach(function (f) {
      var text = String(f[2]), low = text.toLowerCase().trim();
      var named = text.split(/[\s,;:()\[\]{}"'=]+/).filter(function (w) { return nodeByName[w] !== undefined; })
        .map(function (w) { return nodeByName[w]; });
      var opens = /^(disconnect|isolate|partition|cut)/.test(low);
      var heals = /^(connect|reconnect|heal|restore|rejoin)/.test(low);
      faultBad.push(opens || (!heals && /(unreliable|drop|delay|reorder|crash|kill|partition)/.test(low)));
      if (opens && !/^partition/.test(low)) {
        named.forEach(function (n) { if (openCut[n] === undefined) openCut[n] = f[0]; });
      } else if (heals || /^partition/.test(low)) {
        var which = named.length && !/^partition/.test(low) ? named : Object.keys(openCut).map(Number);
        which.forEach(function (n) {
          if (openCut[n] !== undefined) { cut[n].push([openCut[n], f[0]]); delete openCut[n]; }
        });
      }
    });
    Object.keys(openCut).forEach(function (k) { cut[k].push([openCut[k], END]); });
    /* Client operations: one row per client, or, past MAX_OP_ROWS clients, packed into rows of
     * operations that do not overlap. Client ids are decimal strings (they may exceed 2^53). */
    var MAX_OP_ROWS = 40, clientIds = [], opsBy = {};
    D.op.forEach(function (o) {
      if (!opsBy[o[2]]) { opsBy[o[2]] = []; clientIds.push(o[2]); }
      opsBy[o[2]].push(o);
    });
    clientIds.sort(function (a, b) { return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0); });
    var opRows = [], packed = clientIds.length > MAX_OP_ROWS;
    if (!packed) clientIds.forEach(function (c) { opRows.push({ label: 'client ' + (c.length > 8 ? '…' + c.slice(-6) : c), ops: opsBy[c] }); });
    else {
      var ends = [];
      D.op.forEach(function (o) {
        var end = o[3] === null ? END : o[3], k = 0;
        while (k < ends.length && ends[k] > o[0]) k++;
        if (k === MAX_OP_ROWS) k = MAX_OP_ROWS - 1;
        if (k === ends.length) { ends.push(0); opRows.push({ label: 'operations ' + (k + 1), ops: [] }); }
        ends[k] = Math.max(ends[k], end); opRows[k].ops.push(o);
      });
    }
    opRows.forEach(function (r) { r.starts = r.ops.map(function (o) { return o[0]; }); });
    var maxOpDur = 0, pendingOps = 0;
    D.op.forEach(function (o) { if (o[3] === null) pendingOps++; else maxOpDur = Math.max(maxOpDur, o[3] - o[0]); });
    var verdict = D.verdict.length ? D.verdict[D.verdict.length - 1] : null;
    var logCount = D.log.length;
    /* Lanes: nodes that take part in RPCs, report state, or crash. */
    var hasLane = NODES.map(function (_, ix) {
      return sent[ix] > 0 || recv[ix] > 0 || stateBy[ix].length > 0 || down[ix].length > 0 || cut[ix].length > 0;
    });
    var nodeOn = NODES.map(function () { return true; });

    /* ---------- header ---------- */
    var stats = $('stats');
    function stat(label, value, warn, title) {
      var s = el('span', 'stat' + (warn ? ' warn' : ''));
      var b = el('b', null, value);
      s.appendChild(b); s.appendChild(document.createTextNode(' ' + label));
      if (title) s.title = title;
      stats.appendChild(s);
    }
    stat(meta.backend === 'real' ? 'wall time' : 'virtual time', fmtDur(meta.end || 0));
    stat('nodes', fmtInt(nN));
    // Past the event log's memory budget the page holds the first and the last events only;
    // meta.recorded then has the run's exact counts.
    var rec = meta.recorded;
    function counted(label, shown, total) {
      if (rec && total > shown) {
        stat(label + ' (' + fmtInt(shown) + ' kept)', fmtInt(total), true,
          'the event log kept the first and the last events of this run to bound its memory; a note in the log marks the gap');
        return true;
      }
      return false;
    }
    if (!counted('RPCs', nR, rec ? rec.rpcs : 0)) stat('RPCs', fmtInt(nR));
    if (fateCount[1] + fateCount[2]) stat('dropped', fmtInt(fateCount[1] + fateCount[2]), true, 'request or reply dropped by the unreliable network');
    if (fateCount[3]) stat('unreachable', fmtInt(fateCount[3]), true, 'end disabled, unconnected, or no such server');
    if (fateCount[4]) stat('to dead servers', fmtInt(fateCount[4]), true);
    if (fateCount[5]) stat('errors', fmtInt(fateCount[5]), true);
    if (delayedCount) stat('delayed replies', fmtInt(delayedCount));
    if (nR) stat('on the wire', fmtBytes(totalBytes));
    if (!counted('client ops', D.op.length, rec ? rec.ops : 0) && D.op.length) {
      stat('client ops' + (pendingOps ? ' (' + fmtInt(pendingOps) + ' without reply)' : ''), fmtInt(D.op.length));
    }
    if (D.fault.length) stat('faults', fmtInt(D.fault.length));
    if (logCount) stat('log lines', fmtInt(logCount));
    if (verdict) {
      var v = $('verdict');
      v.className = verdict[2] ? 'ok' : 'bad';
      v.appendChild(document.createTextNode(verdict[2] ? '✓ linearizability check passed  ' : '✗ linearizability check failed  '));
      v.appendChild(el('span', 'vt', verdict[3]));
    }
    var copyBtn = $('copy-replay');
    if (copyBtn) copyBtn.addEventListener('click', function () {
      var text = $('replay').textContent;
      var done = function () { copyBtn.textContent = 'copied'; setTimeout(function () { copyBtn.textContent = 'copy'; }, 1200); };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, function () {});
      else { var r = document.createRange(); r.selectNodeContents($('replay')); var s = getSelection(); s.removeAllRanges(); s.addRange(r); }
    });
    var legend = $('legend');
    function sw(cls, color, label, dashed) {
      var s = el('span');
      var m = el('span', cls);
      if (cls === 'sw') m.style.background = color; else { m.style.borderTopColor = color; if (dashed) m.style.borderTopStyle = 'dashed'; }
      s.appendChild(m); s.appendChild(document.createTextNode(label)); legend.appendChild(s);
    }
    sw('sw', ROLE_COLORS.leader, 'leader'); sw('sw', ROLE_COLORS.candidate, 'candidate'); sw('sw', ROLE_COLORS.follower, 'follower');
    sw('sw', 'rgba(224,49,49,0.35)', 'crashed'); sw('sw', 'rgba(247,103,7,0.3)', 'disconnected');
    sw('ln', C.req, 'request'); sw('ln', C.rep, 'reply'); sw('ln', C.delayed, 'delayed'); sw('ln', C.drop, 'dropped ×', true);
    sw('ln', C.unreach, 'unreachable / dead ×', true); sw('sw', 'rgba(112,72,232,0.18)', 'rows in log view');

    /* ---------- timeline ---------- */
    var canvas = $('timeline'), ctx = canvas.getContext('2d');
    var base = document.createElement('canvas'), bctx = base.getContext('2d');
    var tip = $('tooltip'), scroller = $('tl-scroll'), spacer = $('tl-spacer');
    var GUT = 168, PADR = 14, BAR = 14, LANE_H = 44, CLIENT_H = 20;
    var W = 800, H = 200, dpr = 1, rows = [], laneY = new Float64Array(nN).fill(-1);
    var FULL0 = -END * 0.01, FULL1 = END * 1.01;
    var v0 = FULL0, v1 = FULL1;
    var hover = null, mouseX = -1, selT = null, logBand = null, densityMode = false;

    function X(t) { return GUT + (t - v0) * (W - GUT - PADR) / (v1 - v0); }
    function T(x) { return v0 + (x - GUT) * (v1 - v0) / (W - GUT - PADR); }

    function layout() {
      rows = []; laneY.fill(-1);
      var y = 0;
      function add(kind, h, extra) { var r = { kind: kind, y: y, h: h }; for (var k in extra) r[k] = extra[k]; rows.push(r); y += h; return r; }
      add('axis', 28);
      add('network', 24);
      if (D.note.length || D.verdict.length) add('notes', 24);
      for (var n = 0; n < nN; n++) {
        if (!hasLane[n] || !nodeOn[n]) continue;
        var r = add('lane', LANE_H, { node: n });
        laneY[n] = r.y + r.h / 2;
      }
      if (opRows.length) {
        add('clients', 22);
        opRows.forEach(function (o) { add('client', CLIENT_H, { ops: o }); });
      }
      if (rows.length <= 3 && !nR) add('empty', 40);
      W = Math.max(400, canvas.parentNode.clientWidth || 1200);
      H = y + 6;
      dpr = window.devicePixelRatio || 1;
      [canvas, base].forEach(function (c) { c.width = Math.round(W * dpr); c.height = Math.round(H * dpr); });
      canvas.style.height = H + 'px';
      scroller.style.marginLeft = GUT + 'px';
      scroller.style.marginRight = PADR + 'px';
    }

    function clampView() {
      var span = v1 - v0, full = FULL1 - FULL0;
      span = Math.min(Math.max(span, 2000), full);
      if (v0 < FULL0) v0 = FULL0;
      if (v0 + span > FULL1) v0 = FULL1 - span;
      v1 = v0 + span;
      $('window-label').textContent = fmtAt(Math.max(v0, 0)) + ' – ' + fmtAt(v1) + '  (' + fmtDur(span) + ')';
    }

    var syncing = false;
    function syncScroll() {
      var plotW = W - GUT - PADR, full = FULL1 - FULL0, span = v1 - v0;
      var sw = Math.min(plotW * full / span, 3e7);
      spacer.style.width = sw + 'px';
      syncing = true;
      scroller.scrollLeft = (v0 - FULL0) / Math.max(full - span, 1) * Math.max(sw - scroller.clientWidth, 0);
      syncing = false;
    }
    scroller.addEventListener('scroll', function () {
      if (syncing) return;
      var full = FULL1 - FULL0, span = v1 - v0;
      var max = Math.max(scroller.scrollWidth - scroller.clientWidth, 1);
      v0 = FULL0 + scroller.scrollLeft / max * (full - span); v1 = v0 + span;
      clampView(); drawBase(); drawOverlay();
    });

    function niceStep(spanNs, px) {
      var raw = spanNs / Math.max(px / 110, 1);
      var p = Math.pow(10, Math.floor(Math.log10(raw)));
      var m = raw / p;
      return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
    }

    /* Where the RPC i is drawn: start/end points of request and reply. */
    function rpcGeom(i) {
      var ya = laneY[rFrom[i]], yb = laneY[rTo[i]];
      if (ya < 0 || yb < 0) return null;
      var dir = yb > ya ? 1 : -1, self = ya === yb;
      var ys = self ? ya - BAR / 2 : ya + dir * BAR / 2, ye = self ? ya - BAR / 2 - 10 : yb - dir * BAR / 2;
      var xs = X(rT[i]), xe = X(rDone[i]);
      return { xs: xs, ys: ys, xe: xe, ye: ye, xm: (xs + xe) / 2, ymid: (ys + ye) / 2 };
    }

    function visibleRpcs() {
      var lo = lowerBound(rT, v0 - maxDur), hi = lowerBound(rT, v1 + 1);
      return [lo, hi];
    }

    function drawBase() {
      var drawStart = performance.now();
      try { drawBaseLayer(); } finally { $('summary').dataset.drawMs = (performance.now() - drawStart).toFixed(1); }
    }
    function drawBaseLayer() {
      var c = bctx;
      c.setTransform(dpr, 0, 0, dpr, 0, 0);
      c.clearRect(0, 0, W, H);
      c.fillStyle = '#ffffff'; c.fillRect(0, 0, W, H);
      var span = v1 - v0, step = niceStep(span, W - GUT - PADR);
      var digits = Math.max(0, -Math.floor(Math.log10(step / 1e6) + 1e-9));
      /* row backgrounds and gutter labels */
      rows.forEach(function (r, ix) {
        if (r.kind === 'lane' && ix % 2 === 0) { c.fillStyle = '#fbfcfd'; c.fillRect(0, r.y, W, r.h); }
        if (r.kind === 'clients' || r.kind === 'network' || r.kind === 'notes') {
          c.fillStyle = '#f7f8fa'; c.fillRect(0, r.y, W, r.h);
        }
      });
      /* grid */
      c.strokeStyle = C.grid; c.lineWidth = 1; c.beginPath();
      var first = Math.ceil(v0 / step) * step;
      for (var t = first; t <= v1; t += step) { var gx = Math.round(X(t)) + 0.5; c.moveTo(gx, 28); c.lineTo(gx, H); }
      c.stroke();
      c.save(); c.beginPath(); c.rect(GUT, 0, W - GUT, H); c.clip();
      rows.forEach(function (r) { drawRow(c, r); });
      drawRpcs(c);
      /* axis labels */
      c.fillStyle = C.axis; c.font = '11px ' + SANS; c.textBaseline = 'middle'; c.textAlign = 'center';
      for (t = first; t <= v1; t += step) {
        var lbl = (t / 1e6).toFixed(digits) + ' ms', lw = c.measureText(lbl).width, lx = Math.max(X(t), GUT + lw / 2 + 3);
        if (lx - X(t) < 12) c.fillText(lbl, lx, 12);
      }
      c.strokeStyle = '#cfd5dc'; c.beginPath(); c.moveTo(GUT, 27.5); c.lineTo(W, 27.5); c.stroke();
      c.beginPath();
      for (t = first; t <= v1; t += step) { c.moveTo(Math.round(X(t)) + 0.5, 22); c.lineTo(Math.round(X(t)) + 0.5, 28); }
      c.stroke();
      c.restore();
      /* gutter */
      c.fillStyle = '#ffffff'; c.fillRect(0, 0, GUT, 28);
      c.strokeStyle = '#dfe3e8'; c.beginPath(); c.moveTo(GUT - 0.5, 0); c.lineTo(GUT - 0.5, H); c.stroke();
      rows.forEach(function (r) { drawLabel(c, r); });
      c.strokeStyle = '#e9ecef'; c.beginPath();
      rows.forEach(function (r) { if (r.kind !== 'client') { c.moveTo(0, r.y + r.h - 0.5); c.lineTo(W, r.y + r.h - 0.5); } });
      c.stroke();
    }

    function drawLabel(c, r) {
      c.textBaseline = 'middle'; c.textAlign = 'left';
      var cy = r.y + r.h / 2;
      if (r.kind === 'axis') { c.fillStyle = C.axis; c.font = '11px ' + SANS; c.fillText(CLOCK, 10, 14); }
      else if (r.kind === 'network') { c.fillStyle = '#495057'; c.font = '600 11px ' + SANS; c.fillText('network faults', 10, cy); }
      else if (r.kind === 'notes') { c.fillStyle = '#495057'; c.font = '600 11px ' + SANS; c.fillText('tester notes', 10, cy); }
      else if (r.kind === 'clients') { c.fillStyle = '#495057'; c.font = '600 11px ' + SANS; c.fillText('client operations', 10, cy); }
      else if (r.kind === 'empty') {
        c.fillStyle = '#868e96'; c.font = '12px ' + SANS;
        c.fillText(meta.events ? 'no RPCs, node state or client operations were recorded (see the log below)' : 'no events were recorded', 10, cy);
      }
      else if (r.kind === 'lane') {
        c.fillStyle = PALETTE[r.node % PALETTE.length];
        c.beginPath(); c.arc(14, cy - 6, 4, 0, 6.2832); c.fill();
        c.fillStyle = '#1d2430'; c.font = '600 12px ' + MONO;
        c.fillText(clip(c, NODES[r.node], GUT - 30), 24, cy - 6);
        c.fillStyle = '#8c96a3'; c.font = '10.5px ' + SANS;
        c.fillText(fmtInt(sent[r.node]) + ' out · ' + fmtInt(recv[r.node]) + ' in', 24, cy + 9);
      } else if (r.kind === 'client') {
        c.fillStyle = '#495057'; c.font = '11px ' + MONO; c.fillText(clip(c, r.ops.label, GUT - 30), 24, cy);
      }
    }

    function clip(c, text, w) {
      if (c.measureText(text).width <= w) return text;
      var lo = 0, hi = text.length;
      while (lo < hi) { var m = (lo + hi + 1) >> 1; if (c.measureText(text.slice(0, m) + '…').width <= w) lo = m; else hi = m - 1; }
      return lo > 0 ? text.slice(0, lo) + '…' : '';
    }

    function drawRow(c, r) {
      var x0 = GUT, x1 = W;
      if (r.kind === 'network') {
        var f = D.fault, k = Math.max(0, upperRows(f, v0) - 1);
        if (!f.length) { c.fillStyle = '#adb5bd'; c.font = '11px ' + SANS; c.textBaseline = 'middle'; c.fillText('none recorded', GUT + 8, r.y + r.h / 2); return; }
        for (; k < f.length && f[k][0] <= v1; k++) {
          var a = X(f[k][0]), b = k + 1 < f.length ? X(f[k + 1][0]) : X(END);
          if (b < x0) continue;
          c.fillStyle = faultBad[k] ? 'rgba(247, 103, 7, 0.22)' : 'rgba(134, 142, 150, 0.12)';
          c.fillRect(a, r.y + 3, Math.max(b - a, 1.5), r.h - 6);
          c.fillStyle = faultBad[k] ? '#d9480f' : '#868e96'; c.fillRect(a, r.y + 2, 2, r.h - 4);
          if (b - a > 24) {
            c.fillStyle = faultBad[k] ? '#a33a00' : '#495057'; c.font = '11px ' + SANS; c.textBaseline = 'middle';
            c.fillText(clip(c, f[k][2], b - a - 8), Math.max(a, x0) + 5, r.y + r.h / 2);
          }
        }
      } else if (r.kind === 'notes') {
        var items = [];
        D.note.forEach(function (n) { items.push([n[0], n[2], 0]); });
        D.verdict.forEach(function (v) { items.push([v[0], (v[2] ? '✓ ' : '✗ ') + v[3], v[2] ? 1 : 2]); });
        items.sort(function (p, q) { return p[0] - q[0]; });
        var lo = Math.max(0, upperRows(items, v0) - 1), hi = upperRows(items, v1);
        for (var j = lo; j < hi; j++) {
          var x = X(items[j][0]), nx = j + 1 < items.length ? X(items[j + 1][0]) : W;
          var col = items[j][2] === 0 ? '#7048e8' : items[j][2] === 1 ? '#2b8a3e' : '#e03131';
          c.fillStyle = col;
          c.beginPath(); c.moveTo(x - 4, r.y + 5); c.lineTo(x + 4, r.y + 5); c.lineTo(x, r.y + 12); c.closePath(); c.fill();
          c.fillRect(x - 0.5, r.y + 12, 1, r.h - 14);
          if (nx - x > 30) {
            c.font = (items[j][2] ? '600 ' : '') + '11px ' + SANS; c.textBaseline = 'middle';
            c.fillText(clip(c, items[j][1], nx - x - 12), Math.max(x, x0) + 7, r.y + r.h / 2);
          }
        }
      } else if (r.kind === 'lane') {
        drawLane(c, r);
      } else if (r.kind === 'clients') {
        var head = packed ? fmtInt(clientIds.length) + ' clients, packed into rows.  ' : '';
        c.font = '600 11px ' + SANS; c.textBaseline = 'middle';
        if (head) { c.fillStyle = '#5f6b7a'; c.fillText(head, GUT + 8, r.y + r.h / 2); }
        if (verdict) {
          c.fillStyle = verdict[2] ? '#2b8a3e' : '#c92a2a';
          c.fillText((verdict[2] ? '✓ check passed: ' : '✗ check failed: ') + verdict[3], GUT + 8 + c.measureText(head).width, r.y + r.h / 2);
        }
      } else if (r.kind === 'client') {
        var ops = r.ops.ops;
        var start = lowerBound(r.ops.starts, v0 - maxOpDur);
        for (var q = start; q < ops.length && ops[q][0] <= v1; q++) {
          var o = ops[q], oa = X(o[0]), ob = o[3] === null ? X(END) : X(o[3]);
          if (ob < x0) continue;
          var w = Math.max(ob - oa, 2), yb = r.y + 3, hb = r.h - 6;
          c.fillStyle = opColor(o[4]);
          c.globalAlpha = o[3] === null ? 0.25 : 0.85;
          c.fillRect(oa, yb, w, hb);
          c.globalAlpha = 1;
          if (o[3] === null) { c.setLineDash([3, 2]); c.strokeStyle = opColor(o[4]); c.strokeRect(oa + 0.5, yb + 0.5, w - 1, hb - 1); c.setLineDash([]); }
          var room = Math.min(ob, q + 1 < ops.length ? X(ops[q + 1][0]) : W) - Math.max(oa, x0) - 6;
          if (room > 24) {
            c.fillStyle = o[3] === null ? '#343a40' : '#ffffff'; c.font = '10.5px ' + MONO; c.textBaseline = 'middle';
            c.fillText(clip(c, o[4], room), Math.max(oa, x0) + 3, r.y + r.h / 2);
          }
        }
      }
    }

    function drawLane(c, r) {
      var n = r.node, cy = laneY[n], y = r.y;
      /* crashes and disconnections */
      cut[n].forEach(function (iv) {
        if (iv[1] < v0 || iv[0] > v1) return;
        var a = X(iv[0]), b = X(iv[1]);
        c.fillStyle = C.cutFill; c.fillRect(a, y + 1, b - a, r.h - 2);
        c.fillStyle = '#e8590c'; c.font = '10px ' + SANS; c.textBaseline = 'top';
        if (b - a > 80) c.fillText('disconnected', Math.max(a, GUT) + 4, y + 2);
      });
      /* role / term / commit bar */
      var st = stateBy[n];
      if (!st.length) {
        c.fillStyle = '#ced4da'; c.fillRect(GUT, cy - 1, W - GUT, 2);
      } else drawBar(c, n, cy, st);
      /* crashes, over the bar: the state before a crash means nothing until the restart */
      down[n].forEach(function (iv) {
        if (iv[1] < v0 || iv[0] > v1) return;
        var a = X(iv[0]), b = X(iv[1]);
        c.fillStyle = 'rgba(255, 255, 255, 0.78)'; c.fillRect(a, cy - BAR / 2, b - a, BAR);
        c.fillStyle = C.crashFill; c.fillRect(a, y + 1, b - a, r.h - 2);
        c.save(); c.beginPath(); c.rect(a, y + 1, b - a, r.h - 2); c.clip();
        c.strokeStyle = 'rgba(224, 49, 49, 0.18)'; c.lineWidth = 1; c.beginPath();
        for (var hx = a - r.h; hx < b; hx += 8) { c.moveTo(hx, y + r.h); c.lineTo(hx + r.h, y); }
        c.stroke(); c.restore();
        c.fillStyle = C.crashLine; c.fillRect(a - 1, y + 1, 2, r.h - 2);
        c.fillStyle = '#c92a2a'; c.font = '600 10px ' + SANS; c.textBaseline = 'top';
        if (b - a > 60) c.fillText(iv[2] ? 'crashed' : 'crashed (restarted after ' + fmtDur(iv[1] - iv[0]) + ')', Math.max(a, GUT) + 5, y + 2);
      });
    }

    function drawBar(c, n, cy, st) {
      var firstX = X(st[0][0]);
      if (firstX > GUT) { c.fillStyle = '#dee2e6'; c.fillRect(GUT, cy - 1, firstX - GUT, 2); }
      var k = Math.max(0, upperRows(st, v0) - 1);
      /* One rectangle and one label per run of the same role and term; the label gives the
       * commit index at the run's start and end. */
      while (k < st.length && st[k][0] <= v1) {
        var j = k + 1;
        while (j < st.length && st[j][2] === st[k][2] && st[j][3] === st[k][3] && st[j][0] <= v1) j++;
        var a = X(st[k][0]), b = j < st.length ? X(st[j][0]) : X(END);
        var role = STR[st[k][2]] || '?';
        if (b >= GUT) {
          c.fillStyle = roleColor(role);
          c.fillRect(a, cy - BAR / 2, Math.max(b - a, 1), BAR);
          var c0 = st[k][4], c1 = st[j - 1][4];
          var label = 'T' + st[k][3] + ' · c' + (c0 === c1 ? c0 : c0 + '–' + c1);
          var ax = Math.max(a, GUT) + 4;
          if (b - ax > 40) {
            c.font = '600 10px ' + MONO; c.textBaseline = 'middle';
            c.fillStyle = ROLE_TEXT[role.toLowerCase()] || '#1d2430';
            var full = role + ' ' + label;
            c.fillText(clip(c, c.measureText(full).width < b - ax - 4 ? full : label, b - ax - 4), ax, cy + 0.5);
          }
          if (k > 0) { c.fillStyle = 'rgba(255, 255, 255, 0.85)'; c.fillRect(a - 0.5, cy - BAR / 2, 1, BAR); }
        }
        k = j;
      }
    }

    function drawRpcs(c) {
      if (!nR) return;
      var vr = visibleRpcs(), lo = vr[0], hi = vr[1];
      var count = 0;
      for (var i = lo; i < hi; i++) if (rDone[i] >= v0 && laneY[rFrom[i]] >= 0 && laneY[rTo[i]] >= 0) count++;
      var plotW = W - GUT - PADR;
      densityMode = count > plotW * 1.5;
      if (densityMode) { drawDensity(c, lo, hi, count); return; }
      var dense = count > 3000;
      var P = { req: new Path2D(), rep: new Path2D(), delayed: new Path2D(), drop: new Path2D(), unreach: new Path2D(),
        dead: new Path2D(), err: new Path2D(), hReq: new Path2D(), hRep: new Path2D(), hDelayed: new Path2D(), hErr: new Path2D(),
        x: new Path2D() };
      for (i = lo; i < hi; i++) {
        if (rDone[i] < v0) continue;
        var g = rpcGeom(i);
        if (!g) continue;
        addRpc(P, i, g, dense);
      }
      c.lineCap = 'round';
      c.globalAlpha = dense ? Math.max(0.15, Math.min(1, 3000 / count)) : 1;
      stroke(c, P.rep, C.rep, 1, null);
      stroke(c, P.req, C.req, dense ? 1 : 1.2, null);
      c.globalAlpha = dense ? Math.max(0.35, Math.min(1, 3000 / count)) : 1;
      stroke(c, P.delayed, C.delayed, 1.5, null);
      stroke(c, P.err, C.err, 1.3, null);
      stroke(c, P.drop, C.drop, 1.3, [4, 3]);
      stroke(c, P.unreach, C.unreach, 1.3, [2, 2]);
      stroke(c, P.dead, C.dead, 1.3, [6, 3]);
      c.globalAlpha = 1;
      if (!dense) {
        c.fillStyle = C.req; c.fill(P.hReq);
        c.fillStyle = C.rep; c.fill(P.hRep);
        c.fillStyle = C.delayed; c.fill(P.hDelayed);
        c.fillStyle = C.err; c.fill(P.hErr);
        stroke(c, P.x, '#e03131', 1.8, null);
      }
      c.lineCap = 'butt';
    }
    /* Too many RPCs to draw one by one: per lane, a histogram of the RPCs it sent (above its
     * bar) and of those that failed (below, red), in 2-pixel buckets. */
    function drawDensity(c, lo, hi, count) {
      var BW = 2, nb = Math.ceil((W - GUT) / BW) + 1;
      var sentB = [], failB = [], maxB = 1, n, b, i;
      for (n = 0; n < nN; n++) { sentB.push(laneY[n] >= 0 ? new Float32Array(nb) : null); failB.push(laneY[n] >= 0 ? new Float32Array(nb) : null); }
      for (i = lo; i < hi; i++) {
        if (rDone[i] < v0 || rT[i] > v1) continue;
        var f = rFrom[i];
        if (!sentB[f]) continue;
        b = Math.floor((X(rT[i]) - GUT) / BW);
        if (b < 0 || b >= nb) continue;
        sentB[f][b]++;
        if (sentB[f][b] > maxB) maxB = sentB[f][b];
        if (rFate[i] !== 0) failB[f][b]++;
      }
      var HH = (LANE_H - BAR) / 2 - 3, scale = HH / Math.sqrt(maxB);
      for (n = 0; n < nN; n++) {
        if (!sentB[n]) continue;
        var cy = laneY[n], top = cy - BAR / 2 - 1, bot = cy + BAR / 2 + 1;
        c.fillStyle = 'rgba(52, 78, 140, 0.55)';
        for (b = 0; b < nb; b++) if (sentB[n][b]) { var hgt = Math.max(1, Math.sqrt(sentB[n][b]) * scale); c.fillRect(GUT + b * BW, top - hgt, BW - 0.3, hgt); }
        c.fillStyle = 'rgba(224, 49, 49, 0.8)';
        for (b = 0; b < nb; b++) if (failB[n][b]) { var hf = Math.max(1, Math.sqrt(failB[n][b]) * scale); c.fillRect(GUT + b * BW, bot, BW - 0.3, hf); }
      }
      var msg = fmtInt(count) + ' RPCs in view: RPCs sent per node (blue, above) and failed (red, below). Zoom in to see each message.';
      c.font = '11px ' + SANS; c.textBaseline = 'middle'; c.textAlign = 'right';
      var tw = c.measureText(msg).width, lanes = rows.filter(function (r) { return r.kind === 'lane'; });
      if (lanes.length) {
        var ly = lanes[0].y + 1;
        c.fillStyle = 'rgba(255, 255, 255, 0.9)'; c.fillRect(W - PADR - tw - 10, ly, tw + 10, 15);
        c.fillStyle = '#495057'; c.fillText(msg, W - PADR - 5, ly + 8);
      }
      c.textAlign = 'left';
    }

    function stroke(c, p, color, w, dash) {
      c.strokeStyle = color; c.lineWidth = w; c.setLineDash(dash || []); c.stroke(p); c.setLineDash([]);
    }
    function head(p, x1, y1, x2, y2) {
      var dx = x2 - x1, dy = y2 - y1, len = Math.sqrt(dx * dx + dy * dy);
      if (len < 10) return;
      var ux = dx / len, uy = dy / len, s = 6;
      p.moveTo(x2, y2); p.lineTo(x2 - ux * s - uy * s * 0.45, y2 - uy * s + ux * s * 0.45);
      p.lineTo(x2 - ux * s + uy * s * 0.45, y2 - uy * s - ux * s * 0.45); p.closePath();
    }
    function cross(p, x, y) { var s = 3.5; p.moveTo(x - s, y - s); p.lineTo(x + s, y + s); p.moveTo(x + s, y - s); p.lineTo(x - s, y + s); }
    function addRpc(P, i, g, dense) {
      var f = rFate[i];
      if (f === 0 || f === 2 || f === 5) {
        var reqP = f === 5 ? P.err : P.req;
        reqP.moveTo(g.xs, g.ys); reqP.lineTo(g.xm, g.ye);
        if (!dense) head(f === 5 ? P.hErr : P.hReq, g.xs, g.ys, g.xm, g.ye);
        if (f === 2) {
          P.drop.moveTo(g.xm, g.ye); P.drop.lineTo(g.xe, g.ymid);
          if (!dense) cross(P.x, g.xe, g.ymid);
        } else if (!dense || rDel[i]) {
          var repP = f === 5 ? P.err : rDel[i] ? P.delayed : P.rep;
          repP.moveTo(g.xm, g.ye); repP.lineTo(g.xe, g.ys);
          if (!dense) head(f === 5 ? P.hErr : rDel[i] ? P.hDelayed : P.hRep, g.xm, g.ye, g.xe, g.ys);
        }
      } else if (f === 1) {
        P.drop.moveTo(g.xs, g.ys); P.drop.lineTo(g.xm, g.ymid);
        if (!dense) cross(P.x, g.xm, g.ymid);
      } else if (f === 3) {
        var yq = g.ys + (g.ye - g.ys) * 0.3, xq = Math.max(g.xe, g.xs + 8);
        P.unreach.moveTo(g.xs, g.ys); P.unreach.lineTo(xq, yq);
        if (!dense) cross(P.x, xq, yq);
      } else {
        P.dead.moveTo(g.xs, g.ys); P.dead.lineTo(g.xm, g.ye);
        if (!dense) cross(P.x, g.xm, g.ye);
      }
    }

    /* The overlay: hover highlight, cursor, selected time, the log's visible window. */
    function drawOverlay() {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.drawImage(base, 0, 0);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.save(); ctx.beginPath(); ctx.rect(GUT, 0, W - GUT, H); ctx.clip();
      if (logBand) {
        var a = X(logBand[0]), b = X(logBand[1]);
        ctx.fillStyle = 'rgba(112, 72, 232, 0.07)'; ctx.fillRect(a, 28, Math.max(b - a, 2), H - 28);
      }
      if (selT !== null) {
        var sx = Math.round(X(selT)) + 0.5;
        ctx.strokeStyle = C.sel; ctx.lineWidth = 1.5; ctx.beginPath(); ctx.moveTo(sx, 0); ctx.lineTo(sx, H); ctx.stroke();
      }
      if (hover && hover.rpc !== undefined) {
        var g = rpcGeom(hover.rpc);
        if (g) {
          ctx.strokeStyle = '#1d2430'; ctx.lineWidth = 2.5; ctx.beginPath();
          var f = rFate[hover.rpc];
          if (f === 1) { ctx.moveTo(g.xs, g.ys); ctx.lineTo(g.xm, g.ymid); }
          else if (f === 3) { ctx.moveTo(g.xs, g.ys); ctx.lineTo(Math.max(g.xe, g.xs + 8), g.ys + (g.ye - g.ys) * 0.3); }
          else if (f === 4) { ctx.moveTo(g.xs, g.ys); ctx.lineTo(g.xm, g.ye); }
          else { ctx.moveTo(g.xs, g.ys); ctx.lineTo(g.xm, g.ye); ctx.lineTo(g.xe, f === 2 ? g.ymid : g.ys); }
          ctx.stroke();
        }
      }
      if (hover && hover.op) {
        ctx.strokeStyle = '#1d2430'; ctx.lineWidth = 2;
        ctx.strokeRect(hover.op.x, hover.op.y, hover.op.w, hover.op.h);
      }
      if (mouseX >= GUT) {
        ctx.strokeStyle = C.cursor; ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
        ctx.beginPath(); ctx.moveTo(mouseX + 0.5, 28); ctx.lineTo(mouseX + 0.5, H); ctx.stroke(); ctx.setLineDash([]);
        var label = fmtAt(T(mouseX));
        ctx.font = '600 11px ' + SANS;
        var tw = ctx.measureText(label).width + 10, lx = Math.min(Math.max(mouseX - tw / 2, GUT), W - tw);
        ctx.fillStyle = '#1d2430'; ctx.fillRect(lx, 2, tw, 18);
        ctx.fillStyle = '#fff'; ctx.textBaseline = 'middle'; ctx.textAlign = 'left'; ctx.fillText(label, lx + 5, 11);
      }
      ctx.restore();
    }

    var pending = false;
    function redraw(full) {
      if (full) needBase = true;
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () {
        pending = false;
        if (needBase) { drawBase(); needBase = false; syncScroll(); afterDraw(); }
        drawOverlay();
      });
    }
    var needBase = false, afterDraw = function () {};

    function zoomAt(factor, x) {
      var t = T(x), span = (v1 - v0) * factor;
      var full = FULL1 - FULL0;
      span = Math.min(Math.max(span, 2000), full);
      var frac = (x - GUT) / (W - GUT - PADR);
      v0 = t - frac * span; v1 = v0 + span;
      clampView(); redraw(true);
    }
    function pan(dx) {
      var dt = dx * (v1 - v0) / (W - GUT - PADR);
      v0 += dt; v1 += dt; clampView(); redraw(true);
    }
    function fit() { v0 = FULL0; v1 = FULL1; clampView(); redraw(true); }
    function centerOn(t) {
      if (t >= v0 && t <= v1) return;
      var span = v1 - v0; v0 = t - span / 2; v1 = v0 + span; clampView(); redraw(true);
    }

    $('zoom-in').addEventListener('click', function () { zoomAt(0.5, (GUT + W) / 2); });
    $('zoom-out').addEventListener('click', function () { zoomAt(2, (GUT + W) / 2); });
    $('zoom-fit').addEventListener('click', fit);
    canvas.addEventListener('wheel', function (e) {
      e.preventDefault();
      var rect = canvas.getBoundingClientRect(), x = e.clientX - rect.left;
      var dx = e.deltaX, dy = e.deltaY;
      if (e.deltaMode === 1) { dx *= 16; dy *= 16; }
      if (e.shiftKey && !dx) { dx = dy; dy = 0; }
      if (Math.abs(dx) > Math.abs(dy)) pan(dx);
      else zoomAt(Math.exp(dy * 0.0015), Math.max(x, GUT));
    }, { passive: false });
    var drag = null;
    canvas.addEventListener('mousedown', function (e) {
      drag = { x: e.clientX, moved: false };
    });
    window.addEventListener('mousemove', function (e) {
      if (!drag) return;
      var dx = e.clientX - drag.x;
      if (Math.abs(dx) > 3 || drag.moved) {
        drag.moved = true; canvas.classList.add('dragging');
        pan(-dx); drag.x = e.clientX;
      }
    });
    window.addEventListener('mouseup', function (e) {
      if (!drag) return;
      var moved = drag.moved;
      drag = null; canvas.classList.remove('dragging');
      if (!moved) {
        var rect = canvas.getBoundingClientRect(), x = e.clientX - rect.left;
        if (x >= GUT) { selT = T(x); redraw(false); logs.jumpTo(selT); }
      }
    });
    canvas.addEventListener('keydown', function (e) {
      if (e.key === '+' || e.key === '=') zoomAt(0.5, (GUT + W) / 2);
      else if (e.key === '-') zoomAt(2, (GUT + W) / 2);
      else if (e.key === '0') fit();
      else if (e.key === 'ArrowLeft') pan(-(W - GUT) / 4);
      else if (e.key === 'ArrowRight') pan((W - GUT) / 4);
      else return;
      e.preventDefault();
    });
    canvas.addEventListener('mouseleave', function () { mouseX = -1; hover = null; tip.hidden = true; redraw(false); });
    canvas.addEventListener('mousemove', function (e) {
      var rect = canvas.getBoundingClientRect(), x = e.clientX - rect.left, y = e.clientY - rect.top;
      mouseX = x;
      if (drag && drag.moved) { tip.hidden = true; return; }
      hover = hitTest(x, y);
      if (hover && hover.text) {
        tip.textContent = hover.text; tip.hidden = false;
        var tx = x + 14, ty = y + 14;
        if (tx + tip.offsetWidth > W - 4) tx = Math.max(4, x - tip.offsetWidth - 14);
        if (ty + tip.offsetHeight > H) ty = Math.max(0, y - tip.offsetHeight - 10);
        tip.style.left = tx + 'px'; tip.style.top = ty + 'px';
      } else tip.hidden = true;
      redraw(false);
    });

    function distSeg(px, py, x1, y1, x2, y2) {
      var dx = x2 - x1, dy = y2 - y1, l2 = dx * dx + dy * dy;
      var t = l2 ? Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / l2)) : 0;
      var qx = x1 + t * dx - px, qy = y1 + t * dy - py;
      return Math.sqrt(qx * qx + qy * qy);
    }
    function stateAt(n, t) {
      var st = stateBy[n], k = upperRows(st, t) - 1;
      return k >= 0 ? st[k] : null;
    }
    function inIv(list, t) { for (var j = 0; j < list.length; j++) if (t >= list[j][0] && t <= list[j][1]) return list[j]; return null; }
    function rpcText(i) {
      var s = NODES[rFrom[i]] + ' → ' + NODES[rTo[i]] + '  ' + (STR[rM[i]] || '?') + '\n' +
        'fate: ' + FATES[rFate[i]] + (rDel[i] ? ' (reply delayed)' : '') + '\n' +
        'sent ' + fmtAt(rT[i]) + ', answered ' + fmtAt(rDone[i]) + '  (' + fmtDur(rDone[i] - rT[i]) + ')\n' +
        fmtInt(rBytes[i]) + ' bytes';
      return s;
    }
    function hitTest(x, y) {
      if (x < GUT) return null;
      var r = null;
      for (var j = 0; j < rows.length; j++) if (y >= rows[j].y && y < rows[j].y + rows[j].h) { r = rows[j]; break; }
      if (!r) return null;
      var t = T(x), tol = 5 * (v1 - v0) / (W - GUT - PADR);
      if (r.kind === 'network') {
        var k = upperRows(D.fault, t) - 1;
        if (k < 0) return null;
        return { text: 'from ' + fmtAt(D.fault[k][0]) + '  (' + NODES[D.fault[k][1]] + ')\n' + D.fault[k][2] };
      }
      if (r.kind === 'notes') {
        var best = null, bd = 8;
        D.note.forEach(function (n) { var d = Math.abs(X(n[0]) - x); if (d < bd) { bd = d; best = fmtAt(n[0]) + '  ' + NODES[n[1]] + '\n' + n[2]; } });
        D.verdict.forEach(function (v) { var d = Math.abs(X(v[0]) - x); if (d < bd) { bd = d; best = fmtAt(v[0]) + '  linearizability check ' + (v[2] ? 'passed' : 'failed') + '\n' + v[3]; } });
        return best ? { text: best } : null;
      }
      if (r.kind === 'client') {
        var ops = r.ops.ops;
        for (var q = ops.length - 1; q >= 0; q--) {
          var o = ops[q], end = o[3] === null ? END : o[3];
          if (o[0] - tol <= t && t <= end + tol) {
            var oa = X(o[0]), ob = X(end);
            return { op: { x: oa, y: r.y + 3, w: Math.max(ob - oa, 2), h: r.h - 6 },
              text: 'client ' + o[2] + ' (' + NODES[o[1]] + ')\n' + o[4] + '\ncalled ' + fmtAt(o[0]) +
                (o[3] === null ? ', no reply (outcome unknown)' : ', returned ' + fmtAt(o[3]) + '  (' + fmtDur(o[3] - o[0]) + ')') };
          }
        }
        return null;
      }
      if (r.kind !== 'lane') return null;
      var n = r.node;
      var vr = visibleRpcs(), bi = -1, bdist = 6;
      for (var i = vr[0]; i < vr[1] && !densityMode; i++) {
        if (rDone[i] < v0 || (rFrom[i] !== n && rTo[i] !== n)) continue;
        if (rT[i] > t + tol || rDone[i] < t - tol) continue;
        var g = rpcGeom(i);
        if (!g) continue;
        var d = distSeg(x, y, g.xs, g.ys, g.xm, g.ye);
        if (rFate[i] !== 1 && rFate[i] !== 3 && rFate[i] !== 4) d = Math.min(d, distSeg(x, y, g.xm, g.ye, g.xe, rFate[i] === 2 ? g.ymid : g.ys));
        if (d < bdist) { bdist = d; bi = i; }
      }
      if (bi >= 0) return { rpc: bi, text: rpcText(bi) };
      var s = stateAt(n, t), lines = [NODES[n] + ' at ' + fmtAt(t)];
      if (s) lines.push((STR[s[2]] || '?') + ', term ' + s[3] + ', commit index ' + s[4] + '  (since ' + fmtAt(s[0]) + ')');
      else lines.push('no state reported yet');
      var dn = inIv(down[n], t), ct = inIv(cut[n], t);
      if (dn) lines.push('CRASHED at ' + fmtAt(dn[0]) + (dn[2] ? '' : ', restarted at ' + fmtAt(dn[1])));
      if (ct) lines.push('disconnected from ' + fmtAt(ct[0]));
      lines.push(fmtInt(sent[n]) + ' RPCs sent, ' + fmtInt(recv[n]) + ' received');
      return { text: lines.join('\n') };
    }

    /* ---------- logs ---------- */
    var logs = buildLogs();

    function buildLogs() {
      var N = nR + D.log.length + D.state.length + D.fault.length + D.life.length + D.op.length + D.note.length + D.verdict.length;
      var eT = new Float64Array(N), eNode = new Int32Array(N), eKind = new Uint8Array(N), eRef = new Int32Array(N), eLvl = new Uint8Array(N);
      var k = 0;
      function push(t, node, kind, ref, lvl) { eT[k] = t; eNode[k] = node; eKind[k] = kind; eRef[k] = ref; eLvl[k] = lvl; k++; }
      for (var i = 0; i < nR; i++) push(rT[i], rFrom[i], K_RPC, i, 2);
      D.log.forEach(function (l, j) { push(l[0], l[1], K_LOG, j, l[2]); });
      D.state.forEach(function (s, j) { push(s[0], s[1], K_STATE, j, 2); });
      D.fault.forEach(function (f, j) { push(f[0], f[1], K_FAULT, j, 3); });
      D.life.forEach(function (l, j) { push(l[0], l[1], K_LIFE, j, l[2] === 0 ? 4 : 2); });
      D.op.forEach(function (o, j) { push(o[0], o[1], K_OP, j, 2); });
      D.note.forEach(function (n, j) { push(n[0], n[1], K_NOTE, j, 2); });
      D.verdict.forEach(function (v, j) { push(v[0], v[1], K_VERDICT, j, v[2] ? 2 : 4); });
      var order = new Int32Array(N);
      for (i = 0; i < N; i++) order[i] = i;
      var ordArr = Array.prototype.slice.call(order);
      ordArr.sort(function (a, b) { return eT[a] - eT[b] || a - b; });
      var low = new Array(N);
      var topicCount = [0, 0, 0, 0, 0, 0], nodeCount = new Int32Array(nN);
      for (i = 0; i < N; i++) { topicCount[KIND_TOPIC[eKind[i]]]++; nodeCount[eNode[i]]++; }

      function text(e) {
        var r = eRef[e];
        switch (eKind[e]) {
          case K_RPC: return '→ ' + NODES[rTo[r]] + ' ' + (STR[rM[r]] || '?') + '  ' +
            (rFate[r] === 0 ? '✓' : '✗ ' + FATES[rFate[r]]) + (rDel[r] ? ' (delayed)' : '') + '  ' + fmtDur(rDone[r] - rT[r]) + '  ' + rBytes[r] + ' B';
          case K_LOG: return D.log[r][4];
          case K_STATE: var s = D.state[r]; return (STR[s[2]] || '?') + ' · term ' + s[3] + ' · commit ' + s[4];
          case K_FAULT: return '⚡ ' + D.fault[r][2];
          case K_LIFE: return D.life[r][2] === 0 ? '✖ CRASHED' : '▶ started';
          case K_OP: var o = D.op[r]; return 'client ' + o[2] + ': ' + o[4] + (o[3] === null ? '  (no reply)' : '  (' + fmtDur(o[3] - o[0]) + ')');
          case K_NOTE: return '✎ ' + D.note[r][2];
          case K_VERDICT: var v = D.verdict[r]; return (v[2] ? '✓ check passed: ' : '✗ check failed: ') + v[3];
        }
        return '';
      }
      function lower(e) {
        if (low[e] === undefined) low[e] = (NODES[eNode[e]] + ' ' + text(e) + (eKind[e] === K_LOG ? ' ' + (STR[D.log[eRef[e]][3]] || '') : '')).toLowerCase();
        return low[e];
      }
      function cls(e) {
        var r = eRef[e];
        switch (eKind[e]) {
          case K_RPC: return rFate[r] === 0 && !rDel[r] ? 'k-rpc' : 'k-rpc bad';
          case K_STATE: return 'k-state';
          case K_FAULT: return 'k-fault';
          case K_LIFE: return D.life[r][2] === 0 ? 'k-crash' : 'k-state';
          case K_OP: return 'k-op';
          case K_NOTE: return 'k-note';
          case K_VERDICT: return D.verdict[r][2] ? 'k-verdict-ok' : 'k-verdict-bad';
        }
        return '';
      }

      var topicOn = [nR <= 5000, true, true, true, true, true];
      var minLevel = 0, needle = '';
      var filtered = new Int32Array(0), nF = 0, cols = [], colOf = new Int32Array(nN);
      var view = $('log-view'), rowsBox = $('log-rows'), logSpacer = $('log-spacer'), head = $('log-head');
      var ROW = 20, pool = [], selected = -1;

      /* node and topic chips */
      var nodeList = $('node-list');
      NODES.forEach(function (name, n) {
        var chip = el('label', 'chip node-chip');
        chip.dataset.node = name;
        chip.title = 'show or hide ' + name + ' (alt-click: only this node)';
        var cb = el('input'); cb.type = 'checkbox'; cb.checked = true; cb.className = 'node-filter'; cb.value = name;
        var dot = el('span', 'dot'); dot.style.background = PALETTE[n % PALETTE.length];
        chip.appendChild(cb); chip.appendChild(dot); chip.appendChild(el('span', 'node-name', name));
        chip.appendChild(el('span', 'n', fmtInt(nodeCount[n])));
        cb.addEventListener('change', function () { nodeOn[n] = cb.checked; chip.classList.toggle('off', !cb.checked); changed(); });
        chip.addEventListener('click', function (e) {
          if (!e.altKey) return;
          e.preventDefault();
          var boxes = nodeList.querySelectorAll('input');
          for (var b = 0; b < boxes.length; b++) { boxes[b].checked = b === n; nodeOn[b] = b === n; boxes[b].parentNode.classList.toggle('off', b !== n); }
          changed();
        });
        nodeList.appendChild(chip);
      });
      var allBtn = el('button', null, 'all'); allBtn.type = 'button';
      allBtn.addEventListener('click', function () {
        var boxes = nodeList.querySelectorAll('input');
        for (var b = 0; b < boxes.length; b++) { boxes[b].checked = true; nodeOn[b] = true; boxes[b].parentNode.classList.remove('off'); }
        changed();
      });
      nodeList.appendChild(allBtn);
      var topicList = $('topic-list');
      TOPICS.forEach(function (name, tix) {
        var chip = el('label', 'chip topic-chip' + (topicOn[tix] ? '' : ' off'));
        chip.dataset.topic = name;
        var cb = el('input'); cb.type = 'checkbox'; cb.checked = topicOn[tix]; cb.className = 'topic-filter'; cb.value = name;
        chip.appendChild(cb); chip.appendChild(el('span', null, name)); chip.appendChild(el('span', 'n', fmtInt(topicCount[tix])));
        cb.addEventListener('change', function () { topicOn[tix] = cb.checked; chip.classList.toggle('off', !cb.checked); refilter(); });
        topicList.appendChild(chip);
      });
      $('level-filter').addEventListener('change', function (e) { minLevel = Number(e.target.value); refilter(); });
      var debounce = null;
      $('text-filter').addEventListener('input', function (e) {
        clearTimeout(debounce);
        debounce = setTimeout(function () { needle = e.target.value.trim().toLowerCase(); refilter(); }, 120);
      });

      function changed() { layout(); redraw(true); refilter(); }

      function refilter() {
        var out = new Int32Array(N), m = 0, used = new Uint8Array(nN);
        for (var j = 0; j < N; j++) {
          var e = ordArr[j];
          if (!nodeOn[eNode[e]] || !topicOn[KIND_TOPIC[eKind[e]]]) continue;
          if (eKind[e] === K_LOG && eLvl[e] < minLevel) continue;
          if (needle && lower(e).indexOf(needle) < 0) continue;
          out[m++] = e;
        }
        for (j = 0; j < nN; j++) if (nodeOn[j] && nodeCount[j] > 0) used[j] = 1;
        filtered = out; nF = m;
        cols = []; colOf.fill(-1);
        for (j = 0; j < nN; j++) if (used[j]) { colOf[j] = cols.length; cols.push(j); }
        var tmpl = '92px repeat(' + Math.max(cols.length, 1) + ', minmax(0, 1fr))';
        head.style.gridTemplateColumns = tmpl;
        head.textContent = '';
        head.appendChild(el('div', null, 'time (ms)'));
        cols.forEach(function (n) {
          var h = el('div', 'col-head', NODES[n]); h.dataset.node = NODES[n];
          h.style.color = PALETTE[n % PALETTE.length];
          head.appendChild(h);
        });
        pool.forEach(function (p) { p.remove(); });
        pool = [];
        logSpacer.style.height = (nF * ROW) + 'px';
        $('log-count').textContent = fmtInt(nF) + ' of ' + fmtInt(N) + ' events';
        rowsBox.dataset.template = tmpl;
        if (!nF) { var em = el('div', 'empty', N ? 'no events match the filters' : 'no events were recorded'); em.style.position = 'absolute'; pool.push(em); rowsBox.appendChild(em); }
        render();
      }

      function render() {
        var h = view.clientHeight || 420, first = Math.floor(view.scrollTop / ROW), count = Math.ceil(h / ROW) + 2;
        if (!nF) { logBand = null; return; }
        var tmpl = rowsBox.dataset.template;
        while (pool.length < count) {
          var row = el('div', 'lrow');
          row.style.gridTemplateColumns = tmpl;
          row.appendChild(el('span'));
          for (var c = 0; c < cols.length; c++) row.appendChild(el('span'));
          row.addEventListener('click', onRowClick);
          rowsBox.appendChild(row); pool.push(row);
        }
        for (var p = 0; p < pool.length; p++) {
          var idx = first + p, rowEl = pool[p];
          if (idx >= nF || p >= count) { rowEl.style.display = 'none'; continue; }
          var e = filtered[idx];
          rowEl.style.display = '';
          rowEl.style.top = (idx * ROW) + 'px';
          rowEl.dataset.idx = idx;
          rowEl.className = 'lrow' + (e === selected ? ' sel' : '') + (eKind[e] === K_LOG && eLvl[e] >= 3 ? ' lvl-' + eLvl[e] : '');
          var cells = rowEl.children;
          cells[0].textContent = (eT[e] / 1e6).toFixed(3);
          var col = colOf[eNode[e]] + 1;
          for (var q = 1; q < cells.length; q++) {
            var cell = cells[q];
            if (q !== col) { if (cell.firstChild) { cell.textContent = ''; cell.className = ''; cell.removeAttribute('title'); } continue; }
            cell.textContent = '';
            var tx = text(e);
            if (eKind[e] === K_LOG) {
              cell.appendChild(el('span', 'lv lv-' + eLvl[e], LEVELS[eLvl[e]]));
              cell.appendChild(document.createTextNode(tx));
              cell.className = '';
            } else { cell.textContent = tx; cell.className = cls(e); }
            cell.title = tx;
          }
        }
        var lastIdx = Math.min(nF - 1, first + count - 3);
        logBand = [eT[filtered[Math.min(first, nF - 1)]], eT[filtered[Math.max(lastIdx, 0)]]];
      }

      function onRowClick(ev) {
        var idx = Number(ev.currentTarget.dataset.idx), e = filtered[idx];
        selected = e; selT = eT[e];
        var d = fmtAt(eT[e]) + '  ' + NODES[eNode[e]] + '  [' + TOPICS[KIND_TOPIC[eKind[e]]] + ']\n';
        if (eKind[e] === K_RPC) d += rpcText(eRef[e]);
        else if (eKind[e] === K_LOG) { var l = D.log[eRef[e]]; d += LEVELS[l[2]] + ' ' + (STR[l[3]] || '') + '\n' + l[4]; }
        else d += text(e);
        $('log-detail').textContent = d;
        centerOn(selT); render(); redraw(false);
      }

      var scrolling = false;
      view.addEventListener('scroll', function () {
        if (scrolling) return;
        scrolling = true;
        requestAnimationFrame(function () { scrolling = false; render(); redraw(false); });
      });

      refilter();
      return {
        jumpTo: function (t) {
          if (!nF) return;
          var lo = 0, hi = nF;
          while (lo < hi) { var mid = (lo + hi) >>> 1; if (eT[filtered[mid]] < t) lo = mid + 1; else hi = mid; }
          var idx = Math.min(lo, nF - 1);
          selected = filtered[idx];
          view.scrollTop = Math.max(0, (idx - 3) * ROW);
          render();
        },
        total: N
      };
    }

    /* ---------- first draw ---------- */
    /* The view window lives in the URL (#t=FROM_MS,TO_MS), so a link can point at a moment. */
    var hm = /(?:^#|&)t=([0-9.e+-]+),([0-9.e+-]+)/.exec(location.hash || '');
    if (hm && Number(hm[2]) > Number(hm[1])) { v0 = Number(hm[1]) * 1e6; v1 = Number(hm[2]) * 1e6; }
    var hashTimer = null;
    afterDraw = function () {
      clearTimeout(hashTimer);
      hashTimer = setTimeout(function () {
        if (v0 === FULL0 && v1 === FULL1) return;
        try { history.replaceState(null, '', '#t=' + (v0 / 1e6).toFixed(3) + ',' + (v1 / 1e6).toFixed(3)); } catch (e) { /* file: URLs may refuse */ }
      }, 300);
    };
    layout();
    clampView();
    drawBase(); syncScroll(); drawOverlay();
    var resizeTimer = null;
    window.addEventListener('resize', function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { layout(); redraw(true); }, 80);
    });

    var summary = $('summary');
    summary.dataset.nodes = NODES.join(',');
    summary.dataset.lanes = NODES.filter(function (_, ix) { return hasLane[ix]; }).join(',');
    summary.dataset.rpcs = String(nR);
    summary.dataset.events = String(meta.events);
    summary.dataset.rpcsRecorded = String(rec ? rec.rpcs : nR);
    summary.dataset.opsRecorded = String(rec ? rec.ops : D.op.length);
    summary.dataset.faults = String(D.fault.length);
    summary.dataset.crashes = String(D.life.filter(function (l) { return l[2] === 0; }).length);
    summary.dataset.ops = String(D.op.length);
    summary.dataset.dropped = String(fateCount[1] + fateCount[2]);
    summary.dataset.verdict = verdict ? verdict[3] : '';
    summary.dataset.verdictOk = verdict ? String(verdict[2]) : '';
    summary.dataset.failed = String(!!meta.failure);
    summary.dataset.renderMs = (performance.now() - started).toFixed(1);
    summary.dataset.ready = 'true';
  }

  var report = window.__reportError || function (m) { if (window.console) console.error(m); };
  try {
    main();
  } catch (e) {
    report(e && e.stack ? e.stack : String(e));
  }
})();
