//! The HTML visualisation of a checked history: one self-contained page (inline CSS and
//! JavaScript, data embedded as JSON, no network access), so a failing suite can point a student
//! at a file that opens in any browser.
//!
//! Each partition gets a timeline with one lane per client. An operation is a bar from its call
//! to its return (time is drawn in event order, not to scale); operations that never returned run
//! off the right edge. The longest linearization found is numbered in green, the operations that
//! could not come next are red, and a red line marks the return by which one of them had to take
//! effect. Hovering a bar shows its details and the state after it.

use super::explain::VisData;

/// Renders the page.
pub(crate) fn render(data: &VisData) -> String {
    // Serialising our own plain structs cannot fail; fall back to an empty object just in case.
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".to_string());
    // Keep the JSON from closing the script element or opening a comment.
    let json = json.replace("</", "<\\/").replace("<!--", "<\\u0021--");
    let mut html = String::with_capacity(json.len() + TEMPLATE.len());
    let (head, tail) = TEMPLATE.split_once("@DATA@").expect("template has a data slot");
    html.push_str(head);
    html.push_str(&json);
    html.push_str(tail);
    html
}

const TEMPLATE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>distlab: linearizability check</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; background: #fafafa; }
h1 { font-size: 18px; margin: 0 0 8px; }
pre.expl { background: #fff; border: 1px solid #ddd; padding: 8px; white-space: pre-wrap; max-height: 320px; overflow: auto; }
section { background: #fff; border: 1px solid #ddd; margin: 12px 0; padding: 8px; }
summary { cursor: pointer; font-weight: 600; }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; color: #fff; margin-left: 6px; }
.s-linearizable { background: #2e7d32; } .s-not { background: #c62828; } .s-timed { background: #ef6c00; } .s-skipped { background: #777; }
.lanes { display: flex; border-top: 1px solid #eee; margin-top: 6px; }
.labels { position: relative; flex: 0 0 84px; border-right: 1px solid #ddd; }
.scroll { overflow-x: auto; position: relative; flex: 1 1 auto; }
.canvas { position: relative; }
.lane-label { position: absolute; left: 0; right: 0; font-size: 11px; color: #555; padding-left: 2px; }
.lane-line { position: absolute; left: 0; right: 0; border-top: 1px dotted #e4e4e4; }
.op { position: absolute; height: 18px; font-size: 11px; line-height: 18px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding: 0 3px; box-sizing: border-box; border-radius: 3px; cursor: default; background: #cfd8dc; border: 1px solid #90a4ae; }
.op.lin { background: #c8e6c9; border-color: #43a047; }
.op.illegal { background: #ffcdd2; border-color: #c62828; font-weight: 600; }
.op.legal { background: #ffe0b2; border-color: #ef6c00; }
.op.never { border-right: 3px dashed #555; }
.op.hl { outline: 2px solid #1565c0; z-index: 3; }
.fail { position: absolute; top: 0; bottom: 0; width: 0; border-left: 2px solid #c62828; z-index: 1; }
.fail span { position: absolute; top: 0; left: 3px; color: #c62828; font-size: 11px; white-space: nowrap; background: #fff; }
#tip { position: fixed; display: none; background: #263238; color: #fff; padding: 6px 8px; border-radius: 4px; font-size: 12px; max-width: 560px; z-index: 10; white-space: pre-wrap; pointer-events: none; }
ol.lin { font-size: 12px; max-height: 300px; overflow: auto; }
ol.lin li { cursor: pointer; } ol.lin li:hover { background: #e3f2fd; }
.legend span { display: inline-block; margin-right: 12px; }
.legend i { display: inline-block; width: 14px; height: 10px; border: 1px solid; margin-right: 4px; vertical-align: middle; }
</style>
</head>
<body>
<h1>Linearizability check: <span id="verdict"></span></h1>
<div class="legend">
<span><i style="background:#c8e6c9;border-color:#43a047"></i>in the longest linearization (#order)</span>
<span><i style="background:#ffcdd2;border-color:#c62828"></i>could come next, illegal there</span>
<span><i style="background:#ffe0b2;border-color:#ef6c00"></i>could come next, legal (not explored to the end)</span>
<span><i style="background:#cfd8dc;border-color:#90a4ae"></i>other</span>
<span>time axis: event order, not to scale; a dashed right edge means the operation never returned</span>
</div>
<pre class="expl" id="expl"></pre>
<div id="parts"></div>
<div id="tip"></div>
<script id="data" type="application/json">@DATA@</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var UNIT = 30, LANE = 24, LEFT = 6, TOP = 18;
  document.getElementById("verdict").textContent = data.verdict;
  document.getElementById("expl").textContent = data.explanation;
  var tip = document.getElementById("tip");
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  var order = { "not linearizable": 0, "timed out": 1, "skipped": 2, "linearizable": 3 };
  var parts = data.partitions.slice().sort(function (a, b) { return order[a.status] - order[b.status]; });
  var root = document.getElementById("parts");
  parts.forEach(function (p) {
    var sec = el("section");
    var det = el("details");
    det.open = p.status !== "linearizable" && p.status !== "skipped";
    var sum = el("summary", null, p.name + " \u2014 " + p.ops.length + " operations, " + p.explored + " states explored");
    var cls = { "linearizable": "s-linearizable", "not linearizable": "s-not", "timed out": "s-timed", "skipped": "s-skipped" }[p.status];
    sum.appendChild(el("span", "badge " + cls, p.status));
    det.appendChild(sum);
    sec.appendChild(det);
    root.appendChild(sec);
    var drawn = false;
    function draw() {
      if (drawn) return;
      drawn = true;
      var pos = {}, after = {};
      p.lin.forEach(function (s, k) { pos[s.op] = k + 1; after[s.op] = s.state; });
      var next = {};
      p.next.forEach(function (n) { next[n[0]] = n[1] ? "legal" : "illegal"; });
      // Lanes: one per client, split into rows where a client's operations overlap.
      var clients = {};
      p.ops.forEach(function (o, i) { (clients[o.client] = clients[o.client] || []).push(i); });
      var ids = Object.keys(clients).map(Number).sort(function (a, b) { return a - b; });
      var end = function (o) { return o.ret_rank === null ? p.ranks + 1 : o.ret_rank; };
      var rowOf = {}, y = TOP, lanes = [];
      ids.forEach(function (c) {
        var rows = [];
        clients[c].sort(function (a, b) { return p.ops[a].call_rank - p.ops[b].call_rank; });
        clients[c].forEach(function (i) {
          var o = p.ops[i], r = 0;
          while (r < rows.length && rows[r] >= o.call_rank) r++;
          rows[r] = end(o);
          rowOf[i] = y + r * LANE;
        });
        lanes.push([c, y, Math.max(1, rows.length)]);
        y += Math.max(1, rows.length) * LANE;
      });
      // Client labels stay put while the timeline scrolls.
      var row = el("div", "lanes");
      var labels = el("div", "labels");
      labels.style.height = (y + 4) + "px";
      var scroll = el("div", "scroll");
      var canvas = el("div", "canvas");
      canvas.style.width = (LEFT + (p.ranks + 2) * UNIT) + "px";
      canvas.style.height = (y + 4) + "px";
      lanes.forEach(function (l) {
        var lab = el("div", "lane-label", "client " + l[0]);
        lab.style.top = l[1] + "px";
        lab.style.height = (l[2] * LANE) + "px";
        labels.appendChild(lab);
        var line = el("div", "lane-line");
        line.style.top = l[1] + "px";
        canvas.appendChild(line);
      });
      var bars = {};
      p.ops.forEach(function (o, i) {
        var label = (pos[i] ? "#" + pos[i] + " " : "") + o.desc;
        var b = el("div", "op", label);
        if (pos[i]) b.classList.add("lin");
        if (next[i]) b.classList.add(next[i]);
        if (o.ret_rank === null) b.classList.add("never");
        var x0 = LEFT + o.call_rank * UNIT, x1 = LEFT + end(o) * UNIT + UNIT / 2;
        b.style.left = x0 + "px";
        b.style.width = Math.max(6, x1 - x0) + "px";
        b.style.top = (rowOf[i] + 3) + "px";
        var info = o.desc + "\nclient " + o.client + ", call " + o.call + ", return " + o.ret +
          "\noperation " + o.index + " of the history";
        if (pos[i]) info += "\nlinearized #" + pos[i] + " of " + p.lin.length + "; state after: " + after[i];
        if (next[i] === "illegal") info += "\ncould come next, but is illegal in the state reached";
        if (next[i] === "legal") info += "\ncould come next and is legal there (search stopped)";
        b.addEventListener("mousemove", function (ev) {
          tip.textContent = info;
          tip.style.display = "block";
          tip.style.left = Math.min(ev.clientX + 12, window.innerWidth - 580) + "px";
          tip.style.top = (ev.clientY + 14) + "px";
        });
        b.addEventListener("mouseleave", function () { tip.style.display = "none"; });
        bars[i] = b;
        canvas.appendChild(b);
      });
      if (p.fail_rank !== null) {
        var f = el("div", "fail");
        f.style.left = (LEFT + p.fail_rank * UNIT + UNIT / 2) + "px";
        f.appendChild(el("span", null, "no linearization past here"));
        canvas.appendChild(f);
      }
      scroll.appendChild(canvas);
      row.appendChild(labels);
      row.appendChild(scroll);
      det.appendChild(row);
      // Bring the point of failure into view.
      var focus = p.fail_rank !== null ? p.fail_rank : (p.lin.length && p.status !== "linearizable" ?
        p.ops[p.lin[p.lin.length - 1].op].call_rank : null);
      if (focus !== null) scroll.scrollLeft = Math.max(0, LEFT + focus * UNIT - scroll.clientWidth / 2);
      det.appendChild(el("div", null, "initial state: " + p.init));
      if (p.lin.length) {
        var ld = el("details");
        var title = p.status === "linearizable" ? "Linearization" : "Longest linearizable prefix";
        ld.appendChild(el("summary", null, title + " (" + p.lin.length + " of " + p.ops.length + " operations)"));
        var ol = el("ol", "lin");
        p.lin.forEach(function (s) {
          var li = el("li", null, p.ops[s.op].desc + "  \u21d2  " + s.state);
          li.addEventListener("click", function () {
            Object.keys(bars).forEach(function (k) { bars[k].classList.remove("hl"); });
            bars[s.op].classList.add("hl");
            bars[s.op].scrollIntoView({ block: "nearest", inline: "center" });
          });
          ol.appendChild(li);
        });
        ld.appendChild(ol);
        det.appendChild(ld);
      }
    }
    if (det.open) draw();
    det.addEventListener("toggle", draw);
  });
  if (!parts.length) root.appendChild(el("p", null, "No operations to draw."));
})();
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::VisData;

    #[test]
    fn embedded_json_cannot_close_the_script() {
        let data = VisData {
            verdict: "x".into(),
            explanation: "</script><script>alert(1)</script><!--".into(),
            partitions: Vec::new(),
        };
        let html = render(&data);
        assert_eq!(html.matches("</script>").count(), 2);
        assert!(!html.contains("<!--"));
    }
}
