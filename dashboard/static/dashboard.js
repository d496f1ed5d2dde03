// Draws every chart container from the figure JSON the server embedded in the page.
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("figures-data");
    if (!node || typeof Plotly === "undefined") {
      return;
    }
    var figures = JSON.parse(node.textContent);
    Object.keys(figures).forEach(function (name) {
      var element = document.getElementById("chart-" + name);
      if (element) {
        var figure = figures[name];
        Plotly.newPlot(element, figure.data, figure.layout, {
          responsive: true,
          displaylogo: false,
        });
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
