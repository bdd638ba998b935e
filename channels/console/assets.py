"""The console's stylesheet and its one script, served from ``/console/assets/``.

Served rather than inlined so that the Content-Security-Policy can forbid
inline script. The script only follows the live transcript (Server-Sent
Events); every page works without it.
"""

from __future__ import annotations

CSS = """
:root { --fg: #1d2733; --muted: #5b6775; --line: #d5dbe3; --accent: #0b6bcb;
        --danger: #b42318; --bg: #f5f7fa; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 17px/1.5 system-ui, -apple-system, "PingFang SC", "Microsoft YaHei",
       sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center;
             padding: .5rem 1rem; background: #12324f; color: #fff; }
header.top a { color: #fff; text-decoration: none; padding: .6rem .4rem; display: inline-block; }
header.top .brand { font-weight: 600; }
header.top nav { display: flex; flex-wrap: wrap; gap: .25rem; flex: 1; }
header.top .who { opacity: .85; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.4rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; }
a { color: var(--accent); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
        padding: 1rem; margin-bottom: 1rem; }
label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
input, textarea { width: 100%; font: inherit; padding: .7rem; border: 1px solid var(--line);
                  border-radius: 8px; min-height: 48px; }
button, .button { font: inherit; min-height: 48px; min-width: 48px; padding: .6rem 1.2rem;
                  border: 0; border-radius: 8px; background: var(--accent); color: #fff;
                  cursor: pointer; margin-top: .75rem; text-decoration: none;
                  display: inline-block; }
button.secondary { background: transparent; border: 1px solid #fff; margin: 0; }
button.danger { background: var(--danger); }
form.inline { display: inline; }
.notice { background: #fff4e5; border: 1px solid #f5b14c; padding: .75rem 1rem;
          border-radius: 8px; }
.error { color: var(--danger); font-weight: 600; }
.muted { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; }
ul.list { list-style: none; padding: 0; margin: 0; }
ul.list li.item { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center;
                  justify-content: space-between; background: var(--card);
                  border: 1px solid var(--line); border-radius: 10px; padding: .75rem 1rem;
                  margin-bottom: .75rem; }
.item-main { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; }
.item-main a { font-weight: 600; padding: .5rem 0; }
.item button { margin-top: 0; }
.badge { background: #e7eef7; border-radius: 999px; padding: .1rem .7rem; }
ul.plain { margin: 0; padding-left: 1.2rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1rem; margin: 0; }
dt { font-weight: 600; color: var(--muted); }
dd { margin: 0; }
#transcript { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
              padding: .75rem; max-height: 60vh; overflow-y: auto; }
.msg { margin: .5rem 0; padding: .5rem .75rem; border-radius: 10px; max-width: 85%;
       white-space: pre-wrap; word-wrap: break-word; }
.msg::before { content: attr(data-label); display: block; font-size: .8rem;
               color: var(--muted); }
.msg-patient { background: #eef3f8; }
.msg-bot { background: #f3f0fa; margin-left: auto; }
.msg-doctor { background: #e6f4ea; margin-left: auto; }
.msg-system { background: #fff8e1; margin: .5rem auto; text-align: center; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; background: var(--card); }
th, td { text-align: left; padding: .6rem; border-bottom: 1px solid var(--line);
         vertical-align: top; }
@media (max-width: 700px) {
  dl { grid-template-columns: 1fr; }
  dt { margin-top: .5rem; }
  .msg { max-width: 100%; }
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { border-bottom: 2px solid var(--line); padding: .5rem 0; }
  td { border: 0; padding: .2rem .6rem; }
  td::before { content: attr(data-label) ": "; font-weight: 600; color: var(--muted); }
}
"""

LIVE_JS = """
(function () {
  "use strict";
  var box = document.getElementById("transcript");
  if (!box || box.getAttribute("data-live") !== "1" || !window.EventSource) { return; }
  var status = document.getElementById("status");
  var live = document.getElementById("live");
  var labels = JSON.parse(box.getAttribute("data-labels") || "{}");
  var roles = ["patient", "bot", "doctor", "system"];
  var source = new EventSource(box.getAttribute("data-events") + "?after=" +
                               encodeURIComponent(box.getAttribute("data-after") || "0"));
  source.addEventListener("message", function (event) {
    var m = JSON.parse(event.data);
    if (box.querySelector('[data-id="' + Number(m.id) + '"]')) { return; }
    var role = roles.indexOf(m.role) >= 0 ? m.role : "system";
    var div = document.createElement("div");
    div.className = "msg msg-" + role;
    div.setAttribute("data-id", String(Number(m.id)));
    div.setAttribute("data-label", (labels[role] || role) + " \\u00b7 " + m.time);
    div.textContent = m.text;
    box.appendChild(div);
    box.scrollTop = box.scrollHeight;
  });
  source.addEventListener("status", function (event) {
    if (status) { status.textContent = JSON.parse(event.data).status; }
  });
  source.addEventListener("end", function () {
    source.close();
    if (live) { live.textContent = live.getAttribute("data-off"); }
  });
  box.scrollTop = box.scrollHeight;
})();
"""
