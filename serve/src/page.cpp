#include "visbone/serve/page.h"

#include <boost/json.hpp>

namespace visbone::serve {

namespace {

// The models' names go in as a JSON array where the script says MODELS.
constexpr const char* kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>visbone serve</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px system-ui,sans-serif;margin:2em auto;max-width:860px;color:#222}
#drop{border:2px dashed #888;border-radius:8px;padding:1.5em;text-align:center;cursor:pointer}
#drop.over{background:#eef}
#view{position:relative;display:inline-block;margin-top:1em}
#view img{width:320px;display:block;image-rendering:pixelated}
#heat{position:absolute;left:0;top:0;opacity:.5;image-rendering:pixelated}
table{border-collapse:collapse;margin-top:1em}td,th{padding:.2em .8em;text-align:left}
.bar{background:#48c;height:.8em}#error{color:#b00}
</style></head><body>
<h1>visbone serve</h1>
<p>Model <select id="model"></select>, heat map of <select id="stage"><option>stage3</option><option>stage2</option><option>stage4</option><option value="">none</option></select></p>
<div id="drop">Drop an image here or <label><u>pick one</u><input id="file" type="file" accept="image/*" hidden></label></div>
<p id="error"></p>
<div id="view"><img id="image" alt=""><canvas id="heat"></canvas></div>
<table id="labels"><thead><tr><th>label</th><th>score</th><th></th></tr></thead><tbody></tbody></table>
<p id="latency"></p>
<script>
const models = MODELS;
const $ = id => document.getElementById(id);
for (const m of models) $("model").add(new Option(m, m));
function showHeat(h) {
  const c = $("heat"), img = $("image");
  if (!h) { c.width = c.height = 0; return; }
  c.width = h.width; c.height = h.height;
  c.style.width = img.clientWidth + "px"; c.style.height = img.clientHeight + "px";
  const ctx = c.getContext("2d"), px = ctx.createImageData(h.width, h.height);
  h.values.forEach((v, i) => { px.data.set([255 * v, 64, 255 * (1 - v), 255], 4 * i); });
  ctx.putImageData(px, 0, 0);
}
async function predict(file) {
  $("error").textContent = "";
  $("image").src = URL.createObjectURL(file);
  await $("image").decode().catch(() => {});
  const stage = $("stage").value;
  const url = "/v1/models/" + encodeURIComponent($("model").value) + ":predict" + (stage ? "?heatmap=" + stage : "");
  const t0 = performance.now();
  const r = await fetch(url, {method: "POST", body: file, headers: {"Content-Type": file.type || "application/octet-stream"}});
  const body = await r.json();
  const ms = performance.now() - t0;
  const rows = $("labels").tBodies[0];
  rows.innerHTML = "";
  if (!r.ok) { $("error").textContent = body.error; showHeat(null); return; }
  for (const [name, rec] of Object.entries(body.heads))
    for (const p of rec.predictions || []) {
      const tr = rows.insertRow();
      tr.className = "prediction";
      tr.insertCell().textContent = p.label;
      tr.insertCell().textContent = p.score.toFixed(4);
      tr.insertCell().innerHTML = '<div class="bar" style="width:' + (200 * p.score).toFixed(0) + 'px"></div>';
    }
  showHeat(body.heatmap);
  $("latency").textContent = "latency " + ms.toFixed(1) + " ms in the browser (server: queue " +
      body.latency_ms.queue.toFixed(1) + " ms, compute " + body.latency_ms.compute.toFixed(1) + " ms, batch of " +
      body.batch_size + ")";
}
$("file").onchange = e => e.target.files[0] && predict(e.target.files[0]);
const drop = $("drop");
drop.ondragover = e => { e.preventDefault(); drop.classList.add("over"); };
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = e => { e.preventDefault(); drop.classList.remove("over"); if (e.dataTransfer.files[0]) predict(e.dataTransfer.files[0]); };
</script></body></html>
)HTML";

}  // namespace

std::string page_html(const std::vector<std::string>& models) {
  std::string page = kPage;
  const std::string names = boost::json::serialize(boost::json::value_from(models));
  page.replace(page.find("MODELS"), 6, names);
  return page;
}

}  // namespace visbone::serve
