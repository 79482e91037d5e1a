/* Case steering: charts, drag-and-drop onto upload forms, filter forms that apply at once.
   Progressive enhancement only: every page works without this file (tables next to every
   chart, a plain file input, a submit button on every filter form). No inline script is
   needed; the data of a chart comes from a <script type="application/json"> element made by
   Django's json_script filter. */
(function () {
  "use strict";

  // Colours with enough contrast on white; one per series key, the same on every page.
  var COLOURS = {
    A: "#b3261e",
    B: "#0b5c8a",
    C: "#3f7d3a",
    intake: "#8a5a00",
    none: "#8795a1",
    red: "#b3261e",
    orange: "#c26a00",
    green: "#2e7d32",
    load: "#0b5c8a",
    guide: "#14202b"
  };

  function readJson(id) {
    var element = document.getElementById(id);
    if (!element) {
      return null;
    }
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

  function colour(key, index) {
    return COLOURS[key] || ["#0b5c8a", "#b3261e", "#3f7d3a", "#8a5a00", "#5b2a86"][index % 5];
  }

  function datasets(spec) {
    return spec.series.map(function (series, index) {
      var c = colour(series.key, index);
      var dataset = {
        label: series.label,
        data: series.data,
        backgroundColor: c,
        borderColor: c,
        borderWidth: 1,
        maxBarThickness: 36
      };
      if (series.type === "line") {
        dataset.type = "line";
        dataset.backgroundColor = "transparent";
        dataset.borderDash = [6, 4];
        dataset.pointRadius = 0;
        dataset.borderWidth = 2;
        dataset.order = -1;
      }
      if (spec.stack) {
        dataset.stack = "portfolio";
      }
      return dataset;
    });
  }

  function chartConfig(spec) {
    var percent = spec.unit === "%";
    var horizontal = spec.horizontal === true;
    var valueAxis = {
      beginAtZero: true,
      stacked: !!spec.stack,
      max: percent ? 100 : undefined,
      ticks: {
        callback: function (value) {
          return percent ? value + " %" : value;
        }
      }
    };
    var categoryAxis = { stacked: !!spec.stack, ticks: { autoSkip: false } };
    var config = {
      type: spec.type || "bar",
      data: { labels: spec.labels, datasets: datasets(spec) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        indexAxis: horizontal ? "y" : "x",
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = horizontal ? context.parsed.x : context.parsed.y;
                if (spec.type === "doughnut") {
                  value = context.parsed;
                }
                return context.dataset.label + ": " + value + (percent ? " %" : "");
              }
            }
          }
        },
        scales: {}
      }
    };
    if (spec.type === "doughnut") {
      config.data.datasets = [
        {
          label: spec.series[0].label,
          data: spec.series[0].data,
          backgroundColor: spec.keys.map(colour),
          borderColor: "#fff",
          borderWidth: 2
        }
      ];
      config.options.cutout = "62%";
      delete config.options.scales;
      delete config.options.indexAxis;
    } else if (horizontal) {
      config.options.scales = { x: valueAxis, y: categoryAxis };
    } else {
      config.options.scales = { y: valueAxis, x: categoryAxis };
    }
    return config;
  }

  function drawCharts() {
    if (typeof window.Chart === "undefined") {
      return;
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.hasAttribute("data-chart-drawn")) {
        return;
      }
      var spec = readJson(canvas.getAttribute("data-chart"));
      if (!spec || !spec.labels || spec.labels.length === 0) {
        return;
      }
      var figure = canvas.closest(".chart");
      if (figure) {
        figure.classList.add("chart--ready");
        // The table stays one click away; with the chart drawn it starts closed.
        var table = figure.querySelector("details[data-chart-table]");
        if (table) {
          table.open = false;
        }
      }
      canvas.setAttribute("data-chart-drawn", "");
      // eslint-disable-next-line no-new
      new window.Chart(canvas, chartConfig(spec));
    });
  }

  // Drag and drop onto an upload form: the dropped file goes into the form's file input and
  // the form is submitted as if the user had chosen the file and pressed the button.
  function enableDropzones() {
    document.querySelectorAll("form[data-dropzone]").forEach(function (form) {
      var input = form.querySelector("input[type=file]");
      if (form.classList.contains("dropzone--enabled")) {
        return;
      }
      var hint = form.querySelector("[data-dropzone-hint]");
      if (!input || typeof DataTransfer === "undefined") {
        return;
      }
      form.classList.add("dropzone--enabled");
      if (hint) {
        hint.hidden = false;
      }
      var depth = 0;
      form.addEventListener("dragenter", function (event) {
        event.preventDefault();
        depth += 1;
        form.classList.add("dropzone--over");
      });
      form.addEventListener("dragover", function (event) {
        event.preventDefault();
        if (event.dataTransfer) {
          event.dataTransfer.dropEffect = "copy";
        }
      });
      form.addEventListener("dragleave", function () {
        depth = Math.max(depth - 1, 0);
        if (depth === 0) {
          form.classList.remove("dropzone--over");
        }
      });
      form.addEventListener("drop", function (event) {
        event.preventDefault();
        depth = 0;
        form.classList.remove("dropzone--over");
        var files = event.dataTransfer && event.dataTransfer.files;
        if (!files || files.length === 0) {
          return;
        }
        var transfer = new DataTransfer();
        transfer.items.add(files[0]);
        input.files = transfer.files;
        form.classList.add("dropzone--busy");
        if (typeof form.requestSubmit === "function") {
          form.requestSubmit();
        } else {
          form.submit();
        }
      });
    });
  }

  // Filter forms apply as soon as a choice changes; their submit button stays for keyboard
  // and no-script users.
  function autoSubmitFilters() {
    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      form.addEventListener("change", function (event) {
        if (event.target && event.target.matches("select, input[type=radio], input[type=checkbox]")) {
          form.submit();
        }
      });
    });
  }

  // Segment forms: show the criteria of the chosen segment only (all of them without a choice
  // or without JavaScript). Hidden criteria are unticked so they cannot be sent by mistake.
  function focusCriteria() {
    document.querySelectorAll("form[data-segment-form]").forEach(function (form) {
      var groups = form.querySelectorAll("[data-criteria-for]");
      function update() {
        var chosen = form.querySelector("input[name=segment]:checked");
        groups.forEach(function (group) {
          var show = !chosen || group.getAttribute("data-criteria-for") === chosen.value;
          group.hidden = !show;
          if (!show) {
            group.querySelectorAll("input[type=checkbox]").forEach(function (box) {
              box.checked = false;
            });
          }
        });
      }
      form.addEventListener("change", function (event) {
        if (event.target && event.target.name === "segment") {
          update();
        }
      });
      update();
    });
  }

  function start() {
    drawCharts();
    enableDropzones();
    autoSubmitFilters();
    focusCriteria();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  document.addEventListener("htmx:afterSwap", function () {
    drawCharts();
    enableDropzones();
  });
})();
