// metatrack web UI: draws the metric charts (uPlot) and the lineage
// picture (Cytoscape.js) from the JSON the server put in the page.
(function () {
  "use strict";
  var colors = ["#1a5fb4", "#c01c28", "#26a269", "#e66100", "#613583", "#986a44", "#008b8b", "#d4a017", "#5e5c64", "#e01b24"];

  function drawChart(el) {
    var spec = JSON.parse(document.getElementById(el.dataset.chart).textContent);
    var series = [{ label: "step" }];
    var data = [spec.x];
    spec.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: colors[i % colors.length], width: 2, spanGaps: true, points: { show: spec.x.length < 60 } });
      data.push(s.values);
    });
    var width = Math.max(el.clientWidth || 0, 280);
    var u = new uPlot({
      width: width, height: 240, series: series,
      scales: { x: { time: false } },
      axes: [{ label: "step" }, {}],
      legend: { live: true }
    }, data, el);
    el.uplot = u;
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var w = Math.max(el.clientWidth || 0, 280);
        if (Math.abs(w - u.width) > 4) { u.setSize({ width: w, height: 240 }); }
      }).observe(el);
    }
  }

  function drawLineage(el) {
    var data = JSON.parse(document.getElementById("lineage-data").textContent);
    var cy = cytoscape({
      container: el,
      elements: data.elements,
      wheelSensitivity: 0.3,
      style: [
        { selector: "node", style: { "label": "data(label)", "font-size": 12, "text-valign": "bottom", "text-margin-y": 4,
          "background-color": "#9cb9e6", "width": 18, "height": 18, "text-wrap": "ellipsis", "text-max-width": 140 } },
        { selector: "node[type = 'dataset'], node[type = 'dataset_version']", style: { "background-color": "#f0b400", "shape": "round-rectangle" } },
        { selector: "node[type = 'model'], node[type = 'model_version']", style: { "background-color": "#1a5fb4", "shape": "ellipse" } },
        { selector: "node[type = 'experiment']", style: { "background-color": "#9141ac", "shape": "diamond" } },
        { selector: "node[type = 'prediction_job']", style: { "background-color": "#26a269", "shape": "hexagon" } },
        { selector: "node[?start]", style: { "border-width": 4, "border-color": "#c01c28", "width": 24, "height": 24 } },
        { selector: "edge", style: { "width": 1.5, "line-color": "#9aa3b2", "target-arrow-color": "#9aa3b2", "target-arrow-shape": "triangle",
          "curve-style": "bezier", "label": "data(label)", "font-size": 10, "color": "#5b6475", "text-rotation": "autorotate" } }
      ],
      layout: { name: "breadthfirst", directed: true, spacingFactor: 1.2, padding: 16, animate: false }
    });
    cy.on("tap", "node", function (e) { window.location.href = e.target.data("href"); });
    cy.on("mouseover", "node", function () { el.style.cursor = "pointer"; });
    cy.on("mouseout", "node", function () { el.style.cursor = ""; });
    el.cy = cy;
  }

  document.querySelectorAll("[data-chart]").forEach(function (el) {
    try { drawChart(el); } catch (e) { el.textContent = "The chart could not be drawn: " + e; }
  });
  var g = document.getElementById("lineage");
  if (g) {
    try { drawLineage(g); } catch (e) { g.textContent = "The lineage picture could not be drawn: " + e; }
  }
})();
