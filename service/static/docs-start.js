// Starts Swagger UI on /docs. A file rather than an inline script, so the page keeps the
// service's Content-Security-Policy (script-src 'self').
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.specUrl, domNode: root, deepLinking: true });
});
