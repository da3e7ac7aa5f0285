/* Charts of the review (backtests.risk_charts): drawn with our own Plotly bundle, loaded only
   when a box of charts is opened, and a "Download PNG" button per chart that asks Plotly for
   the image in the browser (Plotly.downloadImage: nothing is rendered on the server).
   riskgovCharts.draw(root, plotlyUrl) draws every chart under root not yet drawn; each figure
   is the JSON script named by the chart's data-figure. */
(function () {
  "use strict";
  var waiting = [];
  function withPlotly(url, then) {
    if (window.Plotly) { then(); return; }
    waiting.push(then);
    if (waiting.length > 1) { return; }
    var s = document.createElement("script");
    s.src = url;
    s.onload = function () { var w = waiting; waiting = []; w.forEach(function (f) { f(); }); };
    document.head.appendChild(s);
  }
  function draw(root, url) {
    var charts = root.querySelectorAll("[data-figure]:not([data-rendered]):not([data-drawing])");
    if (!charts.length) { return; }
    withPlotly(url, function () {
      charts.forEach(function (el) {
        el.dataset.drawing = "1";
        var fig = JSON.parse(document.getElementById(el.dataset.figure).textContent);
        window.Plotly.newPlot(el, fig.data, fig.layout, {displayModeBar: false, responsive: true})
          .then(function () { el.dataset.rendered = "1"; });
      });
    });
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("[data-png]") : null;
    if (!button) { return; }
    var el = document.getElementById(button.dataset.png);
    if (!el || !window.Plotly || !el.dataset.rendered) { return; }
    window.Plotly.downloadImage(el, {
      format: "png", filename: button.dataset.filename,
      width: Math.max(el.clientWidth, 700), height: el.clientHeight || 400
    });
  });
  window.riskgovCharts = {draw: draw};
})();
