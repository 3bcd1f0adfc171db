// Renders the worker's own OpenAPI document (GET /api/v1/openapi.json) on /api/docs.
// A file of its own, not an inline script, so a strict Content-Security-Policy allows it.
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#api-docs",
  deepLinking: true,
  // Nothing leaves the page except the requests the reader tries.
  validatorUrl: null,
});
