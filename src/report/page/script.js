// dlp report page: hover (or touch) read-outs on the charts. The charts
// are drawn already; this only reads #chart-data and shows the values
// under the pointer. No library, no network.
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var el = document.getElementById('chart-data');
  var charts = el ? JSON.parse(el.textContent) : {};

  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) { return 'nan'; }
    if (v === 0) { return '0'; }
    var a = Math.abs(v);
    if (a < 1e-4 || a >= 1e6) { return v.toExponential(3); }
    return String(Number(v.toPrecision(4)));
  }
  function axis(v, log, from, to) {
    if (log) { v = Math.log10(v); }
    if (from[1] === from[0]) { return (to[0] + to[1]) / 2; }
    return to[0] + (v - from[0]) / (from[1] - from[0]) * (to[1] - to[0]);
  }
  function svgEl(name, attrs) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function row(tip, colour, text) {
    var r = document.createElement('div');
    r.className = 'tip-row';
    if (colour) {
      var sw = document.createElement('i');
      sw.style.background = colour;
      r.appendChild(sw);
    }
    r.appendChild(document.createTextNode(text));
    tip.appendChild(r);
  }

  Object.keys(charts).forEach(function (id) {
    var svg = document.getElementById(id);
    if (!svg) { return; }
    var c = charts[id];
    var m = c.map;
    var box = svg.closest('figure');
    var tip = box.querySelector('.tip');
    var px = function (x) { return axis(x, m.logx, m.x, m.px); };
    var py = function (y) { return axis(y, m.logy, m.y, m.py); };
    var layer = svgEl('g', { 'class': 'hover', 'pointer-events': 'none' });
    layer.style.display = 'none';
    var guide = svgEl('line', { y1: m.py[1], y2: m.py[0], stroke: '#555', 'stroke-width': 1, 'stroke-dasharray': '3 3' });
    layer.appendChild(guide);
    var dots = c.series.map(function (s) {
      var d = svgEl('circle', { r: 4.5, fill: s.colour, stroke: '#fff', 'stroke-width': 1.5 });
      layer.appendChild(d);
      return d;
    });
    svg.appendChild(layer);

    function hide() { layer.style.display = 'none'; tip.hidden = true; }
    function place(evt) {
      var r = box.getBoundingClientRect();
      var x = evt.clientX - r.left, y = evt.clientY - r.top;
      tip.hidden = false;
      var w = tip.offsetWidth, h = tip.offsetHeight;
      var left = x + 14 + w > r.width ? x - 14 - w : x + 14;
      tip.style.left = Math.max(0, left) + 'px';
      tip.style.top = Math.max(0, Math.min(y - h / 2, r.height - h)) + 'px';
    }
    function show(evt) {
      var ctm = svg.getScreenCTM();
      if (!ctm) { return; }
      var pt = svg.createSVGPoint();
      pt.x = evt.clientX; pt.y = evt.clientY;
      var p = pt.matrixTransform(ctm.inverse());
      tip.textContent = '';
      dots.forEach(function (d) { d.style.display = 'none'; });
      if (c.kind === 'line') {
        var best = null, bestd = Infinity;
        c.series.forEach(function (s) {
          s.x.forEach(function (x) {
            var d = Math.abs(px(x) - p.x);
            if (d < bestd) { bestd = d; best = x; }
          });
        });
        if (best === null) { hide(); return; }
        var gx = px(best);
        guide.setAttribute('x1', gx); guide.setAttribute('x2', gx);
        guide.style.display = '';
        var head = document.createElement('b');
        head.textContent = c.xlabel + ' ' + fmt(best);
        tip.appendChild(head);
        c.series.forEach(function (s, i) {
          var k = s.x.indexOf(best);
          if (k < 0) { return; }
          var v = s.y[k];
          if (v !== null && (!m.logy || v > 0)) {
            dots[i].setAttribute('cx', gx);
            dots[i].setAttribute('cy', py(v));
            dots[i].style.display = '';
          }
          row(tip, s.colour, s.name + ': ' + fmt(v));
        });
      } else {
        var hit = null, hd = 40;
        c.series.forEach(function (s, i) {
          s.x.forEach(function (x, k) {
            var y = s.y[k];
            if (y === null) { return; }
            var d = Math.hypot(px(x) - p.x, py(y) - p.y);
            if (d < hd) { hd = d; hit = [i, k]; }
          });
        });
        if (hit === null) { hide(); return; }
        var s = c.series[hit[0]], k = hit[1];
        guide.style.display = 'none';
        dots[hit[0]].setAttribute('cx', px(s.x[k]));
        dots[hit[0]].setAttribute('cy', py(s.y[k]));
        dots[hit[0]].style.display = '';
        var b = document.createElement('b');
        b.textContent = s.labels ? s.labels[k] : s.name;
        tip.appendChild(b);
        row(tip, s.colour, c.xlabel + ' ' + fmt(s.x[k]));
        row(tip, null, c.ylabel + ': ' + fmt(s.y[k]));
      }
      layer.style.display = '';
      place(evt);
    }
    svg.addEventListener('pointermove', show);
    svg.addEventListener('pointerdown', show);
    svg.addEventListener('pointerleave', hide);
  });
})();
