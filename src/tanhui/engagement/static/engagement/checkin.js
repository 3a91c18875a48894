// Fills the check-in form's position for venues with a geofence. Without a script (or without
// permission) the server answers that the position is needed.
(function () {
  var form = document.querySelector("form[data-geofence]");
  if (!form || !navigator.geolocation) { return; }
  var status = form.querySelector("[data-location-status]");
  navigator.geolocation.getCurrentPosition(function (position) {
    form.elements.latitude.value = position.coords.latitude.toFixed(6);
    form.elements.longitude.value = position.coords.longitude.toFixed(6);
    if (status) { status.textContent = status.dataset.ok; }
  }, function () {
    if (status) { status.textContent = status.dataset.failed; }
  }, { enableHighAccuracy: true, timeout: 10000 });
})();
