// A countdown on the answer sheet. The server keeps the real time: this only shows it.
(function () {
  var timer = document.querySelector("[data-seconds-left]");
  if (!timer) { return; }
  var left = parseInt(timer.dataset.secondsLeft, 10);
  var out = timer.querySelector("output");
  function show() {
    var minutes = Math.floor(left / 60), seconds = left % 60;
    out.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }
  show();
  var tick = setInterval(function () {
    left = Math.max(left - 1, 0);
    show();
    if (left === 0) { clearInterval(tick); }
  }, 1000);
})();
